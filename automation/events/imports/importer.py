"""Importing customers, products, policies and events from CSV or JSON Lines files.

Each row is checked in full before anything is written; a bad row is reported as
``FILE:LINE: reason`` and skipped while the good rows are kept. Rows are upserted
by their id in chunks of :data:`CHUNK`, one transaction per chunk; if the database
still refuses a chunk, it is retried row by row so only the offending row is lost.

Rules worth knowing:

* A blank cell (or a JSON ``null``) means "not given": on an existing row the
  stored value is kept, on a new row the column default applies. Columns of the
  file that are not columns of the kind are merged into the row's ``attributes``.
* The same id twice in one file: the later row wins, column by column, as if the
  rows had been imported one after the other; it is not reported.
* A consent column that differs from the stored value (or any consent given for a
  new customer) sets the flag, its time (``consent_at``, else now when granted)
  and source ``import``, and is recorded as a :class:`ConsentChange`; an unchanged
  consent keeps its stored time and source, so re-importing changes nothing.
* Import never lowers a customer's lifecycle stage; policies move their holders
  up to ``customer`` (one policy) or ``repeat`` (two or more).
* A ``value_tier`` cell is an override of the computed tier (``tiers.py``); the
  report's ``retier`` lists the customers whose computed tier is due (policy holders,
  cleared overrides): the caller recomputes them (``customers.tiers.recompute_now``).
* Events go through :func:`automation.events.ingest.ingest`, the one way in, in batches of
  :data:`EVENT_BATCH`; a repeated event id counts as imported (idempotent re-import).
  In a CSV, ``properties.*`` cells become the properties; ``premium`` becomes a number.
* A line with bytes that are not UTF-8 (or a NUL byte) is a bad row; a UTF-8 BOM is fine.
* The progress bar is drawn only on a terminal, and erased when done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pendulum
import sqlmodel
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from automation import clock
from automation.config import get_settings
from automation.db import get_engine, session_scope
from automation.db.sql import among, chunks, dialect_insert
from automation.errors import ValidationError
from automation.events.imports.read import Record, file_format, read_records
from automation.events.imports.rows import (
    EVENT_REQUIRED,
    KINDS,
    Kind,
    Row,
    RowError,
    flatten_event,
    parse_row,
)
from automation.events.imports.tiers import override_tier
from automation.events.ingest import REJECTED, ingest
from automation.models import (
    CONSENT_KINDS,
    ConsentChange,
    Customer,
    Policy,
    Product,
    promote,
    stage_for_policy_count,
)

CHUNK = 500
EVENT_BATCH = 1000
_customers = Customer.__table__  # type: ignore[attr-defined]
_products = Product.__table__  # type: ignore[attr-defined]
_consent_changes = ConsentChange.__table__  # type: ignore[attr-defined]


@dataclass(slots=True)
class ImportReport:
    """How many rows were imported, and one ``FILE:LINE: reason`` per row skipped."""

    ok: int = 0
    problems: list[str] = field(default_factory=list)
    retier: list[str] = field(default_factory=list)  # customers due a tier recompute


@dataclass(slots=True)
class _Run:
    path: Path
    fmt: str
    ok: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    holders: set[str] = field(default_factory=set)
    retier: set[str] = field(default_factory=set)

    def refuse(self, line: int, reason: str) -> None:
        self.bad.append((line, reason))

    def report(self) -> ImportReport:
        ordered = sorted(self.bad, key=lambda item: item[0])
        problems = [f"{self.path}:{line}: {reason}" for line, reason in ordered]
        return ImportReport(self.ok, problems, sorted(self.holders | self.retier))


def import_file(kind: str, path: Path, console: Console | None = None) -> ImportReport:
    """Import one file of ``kind`` (customers, products, policies or events).

    Raises :class:`ValidationError` when the file as a whole cannot be imported
    (missing, unknown type, empty, a required CSV column missing, unknown kind).
    """
    if kind != "events" and kind not in KINDS:
        raise ValidationError(
            f"unknown import kind '{kind}'; use customers, products, policies or events"
        )
    run = _Run(path, file_format(path))
    required = EVENT_REQUIRED if kind == "events" else KINDS[kind].required
    with _progress(console, path) as advance:
        records = read_records(path, run.fmt, required, advance)
        if kind == "events":
            _import_events(records, run)
        else:
            _import_rows(KINDS[kind], records, run)
    if run.holders:
        promote_policy_holders(sorted(run.holders))
    return run.report()


@contextmanager
def _progress(console: Console | None, path: Path) -> Iterator[Callable[[int], None]]:
    if console is None or not console.is_terminal:  # a bar in a log file is noise
        yield lambda _n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"importing {path.name}", total=path.stat().st_size)
        yield lambda n: progress.advance(task, n)


# --- customers, products, policies -----------------------------------------------------


def _import_rows(kind: Kind, records: Iterator[Record], run: _Run) -> None:
    pending: list[Row] = []
    for record in records:
        if record.problem is not None or record.data is None:
            run.refuse(record.line, record.problem or "empty")
            continue
        try:
            pending.append(parse_row(kind, record.line, record.data))
        except RowError as exc:
            run.refuse(record.line, str(exc))
        if len(pending) >= CHUNK:
            _store_chunk(kind, pending, run)
            pending = []
    if pending:
        _store_chunk(kind, pending, run)


def _store_chunk(kind: Kind, rows: list[Row], run: _Run) -> None:
    rows = _merge_duplicates(rows)
    try:
        with get_engine().begin() as conn:
            refused = _write(conn, kind, rows)
    except SQLAlchemyError:
        for row in rows:
            _store_one(kind, row, run)
        return
    _tally(kind, rows, refused, run)


def _store_one(kind: Kind, row: Row, run: _Run) -> None:
    try:
        with get_engine().begin() as conn:
            refused = _write(conn, kind, [row])
    except SQLAlchemyError as exc:
        run.refuse(row.line, f"the database refused the row: {_db_reason(exc)}")
        return
    _tally(kind, [row], refused, run)


def _tally(kind: Kind, rows: list[Row], refused: dict[int, str], run: _Run) -> None:
    for row in rows:
        if id(row) in refused:
            run.refuse(row.line, refused[id(row)])
        else:
            run.ok += row.lines
            if kind.name == "policies":
                run.holders.add(row.given["customer_id"])
            elif row.retier:
                run.retier.add(row.key)


def _merge_duplicates(rows: list[Row]) -> list[Row]:
    """One row per id; a later row's values win over an earlier one's."""
    merged: dict[str, Row] = {}
    for row in rows:
        earlier = merged.pop(row.key, None)
        if earlier is not None:
            row.given = {**earlier.given, **row.given}
            row.attributes = {**earlier.attributes, **row.attributes}
            row.consent_at = row.consent_at or earlier.consent_at
            row.lines += earlier.lines
        merged[row.key] = row
    return list(merged.values())


def _write(conn: Connection, kind: Kind, rows: list[Row]) -> dict[int, str]:
    """Upsert the rows that pass the checks needing the database; return the others' reasons."""
    keys = [row.key for row in rows]
    query = select(kind.table).where(among(conn.dialect.name, kind.table.c[kind.key], keys))
    stored = {r._mapping[kind.key]: r._mapping for r in conn.execute(query)}
    refused: dict[int, str] = {}
    if kind.name == "policies":
        refused = _check_policies(conn, rows, stored)
    good = [row for row in rows if id(row) not in refused]
    if kind.name == "customers":
        for row in good:
            _consents(row, stored.get(row.key))
            row.retier = override_tier(row, stored.get(row.key)) or row.retier
    _upsert(conn, kind, good, stored)
    changes = [change for row in good for change in row.changes]
    if changes:
        conn.execute(_consent_changes.insert(), changes)
    return refused


def _upsert(conn: Connection, kind: Kind, rows: list[Row], stored: dict[str, Any]) -> None:
    now = clock.now()
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        given = dict(row.given)
        if row.attributes:
            before = stored[row.key]["attributes"] if row.key in stored else {}
            given["attributes"] = {**(before or {}), **row.attributes}
        given["updated_at"] = now
        groups.setdefault(tuple(sorted(given)), []).append({**kind.defaults, **given})
    for columns, values in groups.items():
        stmt = dialect_insert(conn, kind.table)
        update = {c: stmt.excluded[c] for c in columns if c != kind.key}
        conn.execute(stmt.on_conflict_do_update(index_elements=[kind.key], set_=update), values)


def _consents(row: Row, stored: Any) -> None:
    """Keep only consents that change; stamp them and note the change for the audit trail."""
    now = clock.now()
    row.changes = []
    for kind in CONSENT_KINDS:
        column = f"{kind}_consent"
        if column not in row.given:
            continue
        granted = row.given[column]
        if stored is not None and stored[column] == granted:
            del row.given[column]
            continue
        row.given[f"{column}_at"] = row.consent_at or (now if granted else None)
        row.given[f"{column}_source"] = "import"
        row.changes.append(
            {
                "customer_id": row.key,
                "kind": kind,
                "granted": granted,
                "source": "import",
                "changed_at": row.consent_at or now,
            }
        )


def _check_policies(conn: Connection, rows: list[Row], stored: dict[str, Any]) -> dict[int, str]:
    customers = {row.given["customer_id"] for row in rows}
    products = {row.given["product_code"] for row in rows if "product_code" in row.given}
    known_customers = _known(conn, _customers.c.customer_id, customers)
    known_products = _known(conn, _products.c.product_code, products)
    refused: dict[int, str] = {}
    for row in rows:
        reasons = []
        customer, product = row.given["customer_id"], row.given.get("product_code")
        if customer not in known_customers:
            reasons.append(f"customer {customer} is not known; import customers first")
        if product is not None and product not in known_products:
            reasons.append(f"product {product} is not known; import products first")
        before = stored.get(row.key, {})
        start = row.given.get("start_date", before.get("start_date"))
        end = row.given.get("maturity_date", before.get("maturity_date"))
        if start is not None and end is not None and end < start:
            reasons.append(f"maturity_date {end} is before start_date {start}")
        if reasons:
            refused[id(row)] = "; ".join(reasons)
    return refused


def promote_policy_holders(customer_ids: list[str]) -> None:
    """Move policy holders up to customer/repeat by the policies they hold; never down.

    A holder without ``first_policy_at`` gets the earliest policy start (00:00 in
    their time zone), or now when no policy has a start date.
    """
    for part in chunks(customer_ids, CHUNK):
        with session_scope() as session:
            dialect = session.get_bind().dialect.name
            counts = _policies_held(session, dialect, part)
            holder_ids = among(dialect, col(Customer.customer_id), part)
            holders = sqlmodel.select(Customer).where(holder_ids)
            for customer in session.exec(holders.with_for_update()):
                count, first = counts.get(customer.customer_id, (0, None))
                promote(customer, stage_for_policy_count(count))
                if customer.first_policy_at is None and count:
                    customer.first_policy_at = _local_midnight(first, customer.timezone)
                session.add(customer)


def _policies_held(session: Session, dialect: str, ids: list[str]) -> dict[str, tuple[int, Any]]:
    """Customer → (policies held, earliest start date)."""
    held = session.exec(
        sqlmodel.select(Policy.customer_id, func.count(), func.min(Policy.start_date))
        .where(among(dialect, col(Policy.customer_id), ids))
        .group_by(col(Policy.customer_id))
    )
    return {customer_id: (count, first) for customer_id, count, first in held}


def _local_midnight(day: date | None, zone: str) -> datetime:
    if day is None:
        return clock.now()
    try:
        start = pendulum.datetime(day.year, day.month, day.day, tz=zone)
    except ValueError:  # a zone pendulum does not know
        start = pendulum.datetime(day.year, day.month, day.day, tz=get_settings().timezone)
    return start.in_tz("UTC")


def _known(conn: Connection, column: Any, values: set[str]) -> set[str]:
    if not values:
        return set()
    return set(conn.scalars(select(column).where(among(conn.dialect.name, column, list(values)))))


# --- events ----------------------------------------------------------------------------


def _import_events(records: Iterator[Record], run: _Run) -> None:
    batch: list[tuple[int, Any]] = []
    for record in records:
        if record.problem is not None or record.data is None:
            run.refuse(record.line, record.problem or "empty")
            continue
        event = flatten_event(record.data) if run.fmt == "csv" else record.data
        batch.append((record.line, event))
        if len(batch) >= EVENT_BATCH:
            _ingest(batch, run)
            batch = []
    if batch:
        _ingest(batch, run)


def _ingest(batch: list[tuple[int, Any]], run: _Run) -> None:
    try:
        result = ingest([event for _, event in batch], source="import")
    except SQLAlchemyError as exc:
        if len(batch) == 1:
            run.refuse(batch[0][0], f"the database refused the event: {_db_reason(exc)}")
        else:
            for part in chunks(batch, 1):
                _ingest(part, run)
        return
    for (line, _), outcome in zip(batch, result.results, strict=True):
        if outcome.status == REJECTED:
            run.refuse(line, "; ".join(outcome.errors))
        else:
            run.ok += 1


def _db_reason(exc: SQLAlchemyError) -> str:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return reason[0][:200] if reason else type(exc).__name__
