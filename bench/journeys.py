"""Journey engine throughput: transitions/s with many customers in flight, and bulk entry.

What is measured, in one run:

1. bulk entry (``--bulk N``, default 1,000,000; ``--bulk 0`` skips it): N new
   customers, all of them matching the entry condition (``customer.has_children: true``
   and the run's customer-id prefix), enter a journey whose start state splits 10%
   control / 90% to a state that e-mails ``cross_sell``; both states wait on a 3-day
   timer. ``automation.journeys.bulk.enter_matching`` is timed; enrollments,
   transitions, messages and timers are counted afterwards, and the peak RSS of the
   process is read just after it (this phase runs first, so the figure is its own).
   The engine writes its pages over ``BULK_CONNECTIONS`` connections at once (2 by
   default; 1 on SQLite). Baselines: bare psycopg ``COPY`` of the same four kinds of
   rows with values computed without the engine (every tenth customer is control),
   into a copy of the journey, 10,000 customers a transaction, as ``enter_matching``
   pages: once over one connection, and once over as many connections as the
   engine (pages dealt in turn, one thread each).
2. transitions (``--size N``, default 100,000): customers are put in flight in a
   journey that waits for ``email_clicked`` (no messages: the engine alone is
   measured) with ``enter_matching``; one ``email_clicked`` per customer is ingested
   (``ingest(publish=False)``, 1000 a batch, not timed); then
   ``automation.worker.process.process_events`` is timed over chunks of 100 ids (what a
   worker message carries) in this process, and on N fresh customers in
   ``--processes`` processes (default 2; 1 skips it), each with its own engine.
   The bench process and those processes set the garbage collector's threshold as
   a worker does (``automation.worker.gc.tune_gc``, ``WORKER_GC_THRESHOLD``).
   Baseline, on N more customers: bare psycopg doing the same rows per customer,
   100 customers a transaction: claim the events (``UPDATE … RETURNING``), move the
   enrollment (``UPDATE`` state and step), insert its transition and the new state's
   timer. The target is ≥ 5,000 transitions/s.
3. sign-ups (``--signups N``, default 5,000; ``--signups 0`` skips it; runs last, since
   it publishes the shipped journeys and segments, as the demo does): N new members
   sign up on the site (a ``signup`` naming a new customer and visitor, ingested with
   ``ingest(publish=False)``, 1000 a batch, not timed: ingest stitches the visitor and
   creates the customer row); then ``process_events`` is timed over chunks of 100
   ids in this process, after a warm-up chunk. Each sign-up enters ``welcome`` and
   ``conversion-ladder``, decides the welcome e-mail and enters the ``member`` and
   ``regular`` segments; the enrollments and messages are counted afterwards. Printed:
   events/s and the bench process's CPU ms per event (``time.process_time``). The
   target is ≥ 1,000 events/s.

Run::

    python bench/journeys.py [--size N] [--bulk N] [--processes P] [--signups N]
    python bench/journeys.py --quick     # --size 5000 --bulk 50000 --signups 1000, for CI

Settings come from the environment (``AUTOMATION_DATABASE_URL`` …). Without
``AUTOMATION_DATABASE_URL`` the bench (re)creates the PostgreSQL database
``automation_bench_journeys`` and uses it, or a temporary SQLite file when PostgreSQL
is down (there the baselines use ``sqlite3`` ``executemany``). No broker is used:
events are processed in process. Customer ids, event ids and journey ids carry a
fresh tag, so a database that is not the bench's own is only added to. The last
line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson
import psycopg
from _common import (
    BenchError,
    Figure,
    bench_db,
    check,
    measure,
    note_autovacuum,
    parse_quick,
    peak_rss_mib,
    pg_reachable,
    recreate_pg_database,
    use_database,
)

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = bench_db("automation_bench_journeys")
CHUNK = 100  # event ids per process_events call: what one worker message carries
INGEST_BATCH = 1000
QUICK = {"size": 5_000, "bulk": 50_000, "signups": 1_000}  # --quick: CI
PAGE = 10_000  # customers per bulk-baseline transaction, as enter_matching pages
TABLES = ("customers", "enrollments", "transitions", "timers", "messages", "events")

TRANSIT_YAML = """\
journey: {journey_id}
name: bench transitions
description: Waits for a click, then for a reply; no messages, so only the engine works.
entry:
  on: segment_entered
start: wait
states:
  wait:
    on:
      - {{event: email_clicked, to: clicked}}
    after: {{wait: 30d, to: done}}
  clicked:
    on:
      - {{event: sms_replied, to: done}}
    after: {{wait: 30d, to: done}}
  done:
    end: true
"""
BULK_YAML = """\
journey: {journey_id}
name: bench bulk entry
description: 10% held out, 90% e-mailed a cross-sell; both wait 3 days.
entry:
  on: segment_entered
start: assign
states:
  assign:
    split:
      - {{share: 10, to: holdout, control: true}}
      - {{share: 90, to: offer}}
  holdout:
    after: {{wait: 3d, to: done}}
  offer:
    do:
      - email: cross_sell
    on:
      - {{event: email_clicked, to: done}}
    after: {{wait: 3d, to: done}}
  done:
    end: true
"""

T = TypeVar("T")


@dataclass(slots=True)
class Target:
    """Where the bench writes: the database URL, its kind, and whether the bench owns it."""

    database_url: str
    database: str  # "postgresql" | "sqlite"
    owned: bool


@dataclass(slots=True)
class Journeys:
    """The journeys this run published: id → latest version id."""

    transit: str
    bulk: str
    bulk_base: str
    bulk_parallel: str
    versions: dict[str, int]


# ---------------------------------------------------------------- set-up


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="customers moved per phase")
    parser.add_argument("--bulk", type=int, default=1_000_000, help="bulk entrants (0: skip)")
    parser.add_argument(
        "--processes", type=int, default=2, help="processes of the parallel run (1: skip it)"
    )
    parser.add_argument("--signups", type=int, default=5_000, help="sign-ups processed (0: skip)")
    return parse_quick(parser, QUICK)


def choose_database() -> tuple[str, bool]:
    """The database URL to use and whether the bench created it."""
    url = os.environ.get("AUTOMATION_DATABASE_URL")
    if url:
        print(f"database: {url} (from AUTOMATION_DATABASE_URL; rows are added, not removed)")
        return url, False
    if pg_reachable(PG_ADMIN_URL):
        url = recreate_pg_database(PG_ADMIN_URL, BENCH_DB)
        print(f"database: {url} (re-created by the bench)")
        return url, True
    path = Path(tempfile.mkdtemp(prefix="automation-bench-")) / "bench.db"
    url = f"sqlite:///{path}"
    print(f"database: {url} (PostgreSQL unreachable at {PG_ADMIN_URL}: temporary SQLite)")
    return url, True


def configure() -> Target:
    """Choose the database, export the settings (no broker: processing runs here), migrate."""
    database_url, owned = choose_database()
    use_database(database_url)
    if database_url.startswith("sqlite"):
        return Target(database_url, "sqlite", owned)
    note_autovacuum(psycopg_url(database_url), "ANALYZE after set-up")
    return Target(database_url, "postgresql", owned)


def publish_journeys(tag: str) -> Journeys:
    """Write the bench's journeys to a temporary directory and publish them."""
    from automation.journeys.registry import publish_files

    kinds = ("transit", "bulk", "bulkbase", "bulkpar")
    transit, bulk, bulk_base, bulk_parallel = (f"bench-{kind}-{tag}" for kind in kinds)
    with tempfile.TemporaryDirectory(prefix="bench-journeys-") as folder:
        paths = []
        for journey_id, text in (
            (transit, TRANSIT_YAML),
            (bulk, BULK_YAML),
            (bulk_base, BULK_YAML),
            (bulk_parallel, BULK_YAML),
        ):
            path = Path(folder) / f"{journey_id}.yaml"
            path.write_text(text.format(journey_id=journey_id), encoding="utf-8")
            paths.append(path)
        publish_files(paths)
    from automation.db import session_scope
    from automation.models import Journey

    versions: dict[str, int] = {}
    with session_scope() as session:
        for journey_id in (transit, bulk, bulk_base, bulk_parallel):
            journey = session.get(Journey, journey_id)
            if journey is None or journey.latest_version_id is None:
                raise BenchError(f"{journey_id} was not published")
            versions[journey_id] = journey.latest_version_id
    print(
        f"journeys: {transit} (transitions), {bulk} (bulk entry), {bulk_base} and "
        f"{bulk_parallel} (its baselines)"
    )
    return Journeys(transit, bulk, bulk_base, bulk_parallel, versions)


# ---------------------------------------------------------------- bare connection


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def sqlite_path(url: str) -> str:
    return url.split("sqlite:///", 1)[1]


class Bare:
    """A bare DB-API connection, psycopg 3 or sqlite3, with explicit transactions.

    SQL is written with ``%s`` placeholders; on SQLite they become ``?``, ``COPY``
    becomes ``executemany`` and times are stored as the engine stores them (naive UTC).
    """

    def __init__(self, target: Target) -> None:
        self.pg = target.database == "postgresql"
        self.conn: Any
        if self.pg:
            self.conn = psycopg.connect(psycopg_url(target.database_url), autocommit=True)
        else:
            self.conn = sqlite3.connect(sqlite_path(target.database_url), isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
                self.conn.execute(f"PRAGMA {pragma}")

    def close(self) -> None:
        self.conn.close()

    def sql(self, text: str) -> str:
        return text if self.pg else text.replace("%s", "?")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.pg:
            with self.conn.transaction():
                yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def run(self, text: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(self.sql(text), params)

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(self.sql(text), params).fetchall())

    def scalar(self, text: str, params: Sequence[Any] = ()) -> int:
        row = self.conn.execute(self.sql(text), params).fetchone()
        return int(row[0] or 0) if row else 0

    def stamp(self, at: datetime | date) -> Any:
        """A time or date as this database takes it in a bare statement."""
        if self.pg:
            return at
        if isinstance(at, datetime):
            return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return at.isoformat()

    def among(self, ids: list[int]) -> tuple[str, tuple[Any, ...]]:
        """``= ANY(array)`` on PostgreSQL (one parameter), ``IN (?, …)`` on SQLite."""
        if self.pg:
            return "= ANY(%s)", (ids,)
        return f"IN ({', '.join('?' * len(ids))})", tuple(ids)

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """``COPY … FROM STDIN`` on PostgreSQL, ``executemany`` on SQLite."""
        names = ", ".join(columns)
        if self.pg:
            with (
                self.conn.cursor() as cur,
                cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" * len(columns))
        self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def executemany(self, text: str, rows: list[Sequence[Any]]) -> None:
        if self.pg:
            with self.conn.cursor() as cur:
                cur.executemany(text, rows)
            return
        self.conn.executemany(self.sql(text), rows)

    def returning_many(self, text: str, rows: list[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """One ``… RETURNING`` statement per row (pipelined on PostgreSQL); its first row each."""
        if not self.pg:
            found = (self.conn.execute(self.sql(text), row).fetchone() for row in rows)
            return [row for row in found if row is not None]
        out: list[tuple[Any, ...]] = []
        with self.conn.cursor() as cur:
            cur.executemany(text, rows, returning=True)
            while True:
                out += cur.fetchall()
                if not cur.nextset():
                    break
        return out

    def new_ids(self, table: str, n: int) -> list[int]:
        """``n`` ids for ``table`` as ``bulk`` takes them: one sequence call (PostgreSQL)."""
        if n == 0:
            return []
        if self.pg:
            query = f"SELECT nextval('{table}_id_seq') FROM generate_series(1, %s)"
            return [row[0] for row in self.rows(query, (n,))]
        start = self.scalar(f"SELECT coalesce(max(id), 0) FROM {table}")
        return list(range(start + 1, start + 1 + n))

    def analyze(self) -> None:
        """Fresh planner statistics (autovacuum may be off, and set-up grew the tables)."""
        if self.pg:
            self.run(f"ANALYZE {', '.join(TABLES)}")
        else:
            self.run("ANALYZE")


# ---------------------------------------------------------------- customers and events

CUSTOMER_COLUMNS = (
    "customer_id",
    "email",
    "birth_date",
    "has_children",
    "email_consent",
    "sms_consent",
    "call_consent",
    "ad_consent",
    "night_consent",
    "locale",
    "timezone",
    "lifecycle_stage",
    "value_tier",
    "activity_status",
    "attributes",
    "created_at",
    "updated_at",
)


def customer_ids(prefix: str, n: int) -> Iterator[str]:
    """The ids of a set, in the order the database sorts them."""
    return (f"{prefix}{i:07d}" for i in range(n))


def insert_customers(bare: Bare, prefix: str, n: int, *, has_children: bool) -> None:
    """``n`` consenting members, ids ``<prefix>0000000``…, in one COPY."""
    now, born = bare.stamp(datetime.now(UTC)), bare.stamp(date(1986, 4, 12))
    fixed = (True, True, False, True, False, "ko-KR", "Asia/Seoul", "member", "regular", "active")
    rows = (
        (cid, f"{cid}@example.kr", born, has_children, *fixed, "{}", now, now)
        for cid in customer_ids(prefix, n)
    )
    with bare.transaction():
        bare.copy("customers", CUSTOMER_COLUMNS, rows)


def click_events(prefix: str, n: int, tag: str) -> list[dict[str, Any]]:
    """One ``email_clicked`` per customer of a set, unique event ids."""
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    return [
        {
            "event_id": f"{tag}-click-{cid}",
            "type": "email_clicked",
            "occurred_at": at,
            "customer_id": cid,
            "properties": {},
        }
        for cid in customer_ids(prefix, n)
    ]


def ingest_all(events: list[dict[str, Any]]) -> list[int]:
    """Store events without publishing (this bench processes them itself); their ids."""
    from automation.events.ingest import ingest

    stored: list[int] = []
    for i in range(0, len(events), INGEST_BATCH):
        stored += ingest(events[i : i + INGEST_BATCH], source="bench", publish=False).stored_ids
    check(len(stored) == len(events), f"ingest stored {len(stored)} of {len(events)} events")
    return stored


def chunks(items: list[T], size: int = CHUNK) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------- 1. bulk entry


@dataclass(slots=True)
class BulkResult:
    entry: Figure  # customers entered
    rows: int  # enrollments + transitions + messages + timers written
    baseline: Figure  # rows, one connection
    parallel: Figure | None  # rows, as many connections as the engine writes over
    connections: int  # the engine's (BULK_CONNECTIONS on PostgreSQL, 1 on SQLite)
    peak_rss_mib: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.entry.seconds if self.entry.seconds else 0.0


def bulk_counts(bare: Bare, journey_id: str, version_id: int) -> dict[str, int]:
    """What a journey holds: enrollments (and how many control), transitions, messages, timers."""
    enrollments = bare.rows(
        "SELECT count(*), sum(CASE WHEN control THEN 1 ELSE 0 END) "
        "FROM enrollments WHERE journey_id = %s",
        (journey_id,),
    )[0]
    return {
        "enrollments": int(enrollments[0]),
        "control": int(enrollments[1] or 0),
        "transitions": bare.scalar(
            "SELECT count(*) FROM transitions WHERE version_id = %s", (version_id,)
        ),
        "messages": bare.scalar(
            "SELECT count(*) FROM messages WHERE journey_id = %s", (journey_id,)
        ),
        "timers": bare.scalar(
            "SELECT count(*) FROM timers t JOIN enrollments e ON e.id = t.enrollment_id "
            "WHERE e.journey_id = %s",
            (journey_id,),
        ),
    }


def check_bulk_counts(what: str, counts: dict[str, int], n: int) -> int:
    """Every entrant has its two transitions and its timer, every non-control its e-mail."""
    expected = {
        "enrollments": n,
        "transitions": 2 * n,  # entry, split
        "messages": n - counts["control"],
        "timers": n,
    }
    for kind, want in expected.items():
        check(counts[kind] == want, f"{what}: {counts[kind]} {kind}, expected {want}")
    return sum(expected.values())


def bulk_phase(bare: Bare, target: Target, journeys: Journeys, tag: str, n: int) -> BulkResult:
    from automation.config import get_settings
    from automation.journeys.bulk import enter_matching

    prefix = f"{tag}b-"
    measure(
        "set-up: customers COPY",
        n,
        "customers",
        lambda: insert_customers(bare, prefix, n, has_children=True),
    )
    bare.analyze()
    where = {"customer.has_children": True, "customer.customer_id": {"starts_with": prefix}}
    connections = get_settings().bulk_connections if bare.pg else 1
    print(f"bulk entry: {n:,} customers, all matching {json.dumps(where)}")
    print(f"  written over {connections} connection(s) (BULK_CONNECTIONS; 1 on SQLite)")
    print(f"peak RSS before bulk entry: {peak_rss_mib():.0f} MiB")
    entry, entered = measure(
        "bulk enter_matching()", n, "customers", lambda: enter_matching(journeys.bulk, where)
    )
    rss = peak_rss_mib()
    check(entered == n, f"enter_matching entered {entered} of {n}")
    counts = bulk_counts(bare, journeys.bulk, journeys.versions[journeys.bulk])
    rows = check_bulk_counts("bulk entry", counts, n)
    print(
        f"  wrote {counts['enrollments']:,} enrollments ({counts['control']:,} control, "
        f"{counts['control'] / n:.1%}), {counts['transitions']:,} transitions, "
        f"{counts['messages']:,} messages, {counts['timers']:,} timers = {rows:,} rows, "
        f"{rows / entry.seconds:,.0f} rows/s"
    )
    print(f"peak RSS after bulk entry: {rss:.0f} MiB")
    pages = baseline_pages(prefix, n)
    version = journeys.versions[journeys.bulk_base]
    baseline, _ = measure(
        "baseline COPY, 4 row kinds, 1 connection",
        rows,
        "rows",
        lambda: bulk_baseline(bare, journeys.bulk_base, version, pages),
    )
    check_bulk_counts("bulk baseline", bulk_counts(bare, journeys.bulk_base, version), n)
    parallel = None
    if connections > 1:
        journey, version = journeys.bulk_parallel, journeys.versions[journeys.bulk_parallel]
        parallel, _ = measure(
            f"baseline COPY, 4 row kinds, {connections} connections",
            rows,
            "rows",
            lambda: bulk_baseline_parallel(target, journey, version, pages, connections),
        )
        check_bulk_counts("parallel bulk baseline", bulk_counts(bare, journey, version), n)
    return BulkResult(entry, rows, baseline, parallel, connections, rss)


ENROLLMENT_COLUMNS = (
    "id",
    "journey_id",
    "version_id",
    "customer_id",
    "key",
    "state",
    "step",
    "status",
    "variant",
    "control",
    "last_message_id",
    "context",
    "entered_at",
    "state_entered_at",
)
TRANSITION_COLUMNS = ("enrollment_id", "version_id", "from_state", "to_state", "trigger", "at")
MESSAGE_COLUMNS = (
    "id",
    "idempotency_key",
    "enrollment_id",
    "journey_id",
    "version_id",
    "state",
    "customer_id",
    "channel",
    "template",
    "payload",
    "status",
    "created_at",
)
TIMER_COLUMNS = ("enrollment_id", "step", "kind", "target", "due_at", "created_at")


def baseline_pages(prefix: str, n: int) -> list[tuple[int, list[str]]]:
    """The bulk set's ids in pages of PAGE, each with its first id's position."""
    ids = list(customer_ids(prefix, n))
    return [(start, ids[start : start + PAGE]) for start in range(0, n, PAGE)]


def bulk_baseline_parallel(
    target: Target, journey_id: str, version_id: int, pages: list[Any], connections: int
) -> None:
    """:func:`bulk_baseline` on ``connections`` bare connections at once, pages dealt
    in turn, as the engine writes over BULK_CONNECTIONS."""
    bares = [Bare(target) for _ in range(connections)]
    try:
        with ThreadPoolExecutor(connections) as pool:
            work = [
                pool.submit(bulk_baseline, each, journey_id, version_id, pages[i::connections])
                for i, each in enumerate(bares)
            ]
            for done in work:
                done.result()
    finally:
        for each in bares:
            each.close()


def bulk_baseline(
    bare: Bare, journey_id: str, version_id: int, pages: list[tuple[int, list[str]]]
) -> None:
    """The rows bulk entry writes, values computed without the engine, COPY per page."""
    now = datetime.now(UTC)
    at, due = bare.stamp(now), bare.stamp(now + timedelta(days=3))
    for start, page in pages:
        with bare.transaction():
            enrollment_ids = bare.new_ids("enrollments", len(page))
            control = [(start + i) % 10 == 0 for i in range(len(page))]
            message_ids = iter(bare.new_ids("messages", control.count(False)))
            enrollments, transitions, messages, timers = [], [], [], []
            for cid, eid, held in zip(page, enrollment_ids, control, strict=True):
                state = "holdout" if held else "offer"
                mid = None if held else next(message_ids)
                enrollments.append(
                    (eid, journey_id, version_id, cid, "", state, 1, "active", state, held,
                     mid, '{"bulk": true}', at, at)
                )  # fmt: skip
                transitions.append((eid, version_id, None, "assign", "entry", at))
                transitions.append((eid, version_id, "assign", state, "split", at))
                if mid is not None:
                    payload = orjson.dumps({"enrollment_id": eid, "trigger_event_id": None})
                    messages.append(
                        (mid, f"enrollment:{eid}:1:0", eid, journey_id, version_id, state, cid,
                         "email", "cross_sell", payload.decode(), "queued", at)
                    )  # fmt: skip
                timers.append((eid, 1, "after", "done", due, at))
            bare.copy("enrollments", ENROLLMENT_COLUMNS, enrollments)
            bare.copy("transitions", TRANSITION_COLUMNS, transitions)
            bare.copy("messages", MESSAGE_COLUMNS, messages)
            bare.copy("timers", TIMER_COLUMNS, timers)


# ---------------------------------------------------------------- 2. transitions


@dataclass(slots=True)
class TransitResult:
    baseline: Figure
    single: Figure
    parallel: Figure | None
    processes: int


def moved(bare: Bare, journey_id: str, prefix: str) -> tuple[int, int]:
    """(enrollments now in 'clicked', 'event:email_clicked' transitions) of a customer set."""
    like = prefix + "%"
    clicked = bare.scalar(
        "SELECT count(*) FROM enrollments WHERE journey_id = %s AND state = 'clicked' "
        "AND customer_id LIKE %s",
        (journey_id, like),
    )
    logged = bare.scalar(
        "SELECT count(*) FROM transitions t JOIN enrollments e ON e.id = t.enrollment_id "
        "WHERE e.journey_id = %s AND t.trigger = 'event:email_clicked' AND e.customer_id LIKE %s",
        (journey_id, like),
    )
    return clicked, logged


def check_moved(what: str, bare: Bare, journey_id: str, prefix: str, n: int) -> None:
    clicked, logged = moved(bare, journey_id, prefix)
    check(
        clicked == n and logged == n,
        f"{what}: {clicked} enrollments in 'clicked', {logged} transitions, expected {n}",
    )
    print(f"  checked: {clicked:,} enrollments in 'clicked', {logged:,} transitions logged")


def transit_phase(
    bare: Bare, journeys: Journeys, tag: str, size: int, processes: int
) -> TransitResult:
    from automation.journeys.bulk import enter_matching
    from automation.worker.process import process_events

    prefix = f"{tag}t-"
    parallel = processes > 1
    sets = {"warm": CHUNK * (1 + (processes if parallel else 0)), "base": size, "one": size}
    if parallel:
        sets["many"] = size
    total = sum(sets.values())

    def set_up() -> dict[str, list[int]]:
        for name, count in sets.items():
            insert_customers(bare, f"{prefix}{name}-", count, has_children=False)
        where = {"customer.customer_id": {"starts_with": prefix}}
        check(enter_matching(journeys.transit, where) == total, "not every customer entered")
        events = {
            name: ingest_all(click_events(f"{prefix}{name}-", count, tag))
            for name, count in sets.items()
        }
        bare.analyze()
        return events

    print(f"transitions: {size:,} customers per phase, chunks of {CHUNK} event ids")
    _, events = measure(
        "set-up: in flight + events", total, "customers", set_up
    )  # customers COPY, enter_matching into 'wait', one email_clicked each ingested
    transit = journeys.transit
    baseline, _ = measure(
        "baseline psycopg",
        size,
        "moves",
        lambda: baseline_moves(bare, transit, journeys.versions[transit], events["base"]),
    )
    check_moved("baseline", bare, transit, f"{prefix}base-", size)
    warm = chunks(events["warm"])
    process_events(warm[0])
    single, done = measure(
        "engine, 1 process",
        size,
        "moves",
        lambda: sum(process_events(chunk) for chunk in chunks(events["one"])),
    )
    check(done == size, f"process_events took effect for {done} of {size} events")
    check_moved("engine, 1 process", bare, transit, f"{prefix}one-", size)
    many = None
    if parallel:
        many = run_parallel(events["many"], warm[1:], processes)
        check_moved(f"engine, {processes} processes", bare, transit, f"{prefix}many-", size)
    return TransitResult(baseline, single, many, processes)


CLAIM = (
    "UPDATE events SET processed_at = %s, attempts = attempts + 1 "
    "WHERE id {among} AND processed_at IS NULL RETURNING id, customer_id"
)
MOVE = (
    "UPDATE enrollments SET state = 'clicked', step = step + 1, state_entered_at = %s "
    "WHERE journey_id = %s AND customer_id = %s AND status = 'active' AND state = 'wait' "
    "RETURNING id, step"
)
LOG = (
    "INSERT INTO transitions (enrollment_id, version_id, from_state, to_state, trigger, "
    "event_id, at) VALUES (%s, %s, 'wait', 'clicked', 'event:email_clicked', %s, %s)"
)
TIMER = (
    "INSERT INTO timers (enrollment_id, step, kind, target, due_at, created_at) "
    "VALUES (%s, %s, 'after', 'done', %s, %s)"
)


def baseline_moves(bare: Bare, journey_id: str, version_id: int, event_ids: list[int]) -> None:
    """The engine's row work per customer, hand-written: 100 customers a transaction."""
    for chunk in chunks(event_ids):
        now = datetime.now(UTC)
        at, due = bare.stamp(now), bare.stamp(now + timedelta(days=30))
        with bare.transaction():
            among, params = bare.among(chunk)
            claimed = bare.rows(CLAIM.format(among=among), (at, *params))
            claimed.sort(key=lambda row: row[1])  # lock enrollments in customer order
            moves = bare.returning_many(MOVE, [(at, journey_id, cid) for _, cid in claimed])
            logged = zip(moves, claimed, strict=True)
            bare.executemany(LOG, [(eid, version_id, ev, at) for (eid, _), (ev, _) in logged])
            bare.executemany(TIMER, [(eid, step, due, at) for eid, step in moves])


def run_parallel(event_ids: list[int], warm: list[list[int]], processes: int) -> Figure:
    """``process_events`` in ``processes`` spawned processes, chunks dealt in turn; timed
    from the moment every process is warm until the last one is done."""
    ctx = multiprocessing.get_context("spawn")
    reports: Any = ctx.Queue()
    go = ctx.Event()
    work = chunks(event_ids)
    workers = [
        ctx.Process(target=parallel_worker, args=(work[i::processes], warm[i], reports, go))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            expect_report(reports, "ready")
        started = time.perf_counter()
        go.set()
        done = sum(int(expect_report(reports, "done")) for _ in workers)
        figure = Figure(
            f"engine, {processes} processes", len(event_ids), "moves", time.perf_counter() - started
        )
    finally:
        go.set()
        for worker in workers:
            worker.join(timeout=60)
    print(figure.line(), flush=True)
    check(done == len(event_ids), f"process_events took effect for {done} of {len(event_ids)}")
    return figure


def expect_report(reports: Any, kind: str) -> Any:
    got, value = reports.get(timeout=3600)
    check(got == kind, f"worker process: {value}")
    return value


def parallel_worker(work: list[list[int]], warm: list[int], reports: Any, go: Any) -> None:
    """One worker process: its own engine, warmed up, then its share of the chunks."""
    try:
        from automation.worker.gc import tune_gc
        from automation.worker.process import process_events

        tune_gc()  # as a worker process does when it starts
        process_events(warm)
        reports.put(("ready", None))
        go.wait()
        reports.put(("done", sum(process_events(chunk) for chunk in work)))
    except Exception as exc:
        reports.put(("error", f"{type(exc).__name__}: {exc}"))


# ---------------------------------------------------------------- 3. sign-ups


@dataclass(slots=True)
class SignupResult:
    figure: Figure  # sign-up events processed
    cpu_seconds: float  # this process's CPU over the timed part

    @property
    def cpu_ms_per_event(self) -> float:
        return self.cpu_seconds * 1000 / self.figure.count


def signup_events(prefix: str, n: int, tag: str) -> list[dict[str, Any]]:
    """One ``signup`` per new member of a set: a new customer id and a new visitor, as
    the site sends it."""
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    return [
        {
            "event_id": f"{tag}-signup-{cid}",
            "type": "signup",
            "occurred_at": at,
            "customer_id": cid,
            "visitor_id": f"v-{cid}",
            "properties": {},
        }
        for cid in customer_ids(prefix, n)
    ]


def publish_shipped() -> None:
    """The shipped journeys and segments, as the demo publishes them (identical files
    make no new version)."""
    from automation.journeys.registry import builtin_files, publish_files
    from automation.segments.registry import publish_builtin

    publish_files(builtin_files())
    publish_builtin()


def check_signed_up(bare: Bare, prefix: str, n: int) -> None:
    """Every member entered welcome and the conversion ladder and was sent one e-mail."""
    like = prefix + "%"
    entered = bare.rows(
        "SELECT journey_id, count(*) FROM enrollments WHERE customer_id LIKE %s "
        "GROUP BY journey_id ORDER BY journey_id",
        (like,),
    )
    messages = bare.scalar(
        "SELECT count(*) FROM messages WHERE customer_id LIKE %s AND channel = 'email' "
        "AND template = 'welcome'",
        (like,),
    )
    got = {journey: int(count) for journey, count in entered}
    check(
        got == {"conversion-ladder": n, "welcome": n} and messages == n,
        f"sign-ups: enrollments {got}, {messages} welcome e-mails, expected {n} each",
    )
    print(f"  checked: {n:,} entered welcome and conversion-ladder, {messages:,} e-mails decided")


def signup_phase(bare: Bare, tag: str, n: int) -> SignupResult:
    from automation.worker.process import process_events

    prefix = f"{tag}s-"
    publish_shipped()
    print(f"sign-ups: {n:,} new members, chunks of {CHUNK} event ids, shipped journeys")
    _, (warm, events) = measure(
        "set-up: sign-ups ingested",
        n + CHUNK,
        "events",
        lambda: (
            ingest_all(signup_events(f"{prefix}warm-", CHUNK, tag)),
            ingest_all(signup_events(f"{prefix}one-", n, tag)),
        ),
    )
    bare.analyze()
    process_events(warm)
    cpu = time.process_time()
    figure, done = measure(
        "engine, sign-ups, 1 process",
        n,
        "events",
        lambda: sum(process_events(chunk) for chunk in chunks(events)),
    )
    result = SignupResult(figure, time.process_time() - cpu)
    check(done == n, f"process_events took effect for {done} of {n} sign-ups")
    print(f"  CPU of this process: {result.cpu_ms_per_event:.3f} ms per sign-up")
    check_signed_up(bare, f"{prefix}one-", n)
    return result


# ---------------------------------------------------------------- report


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summary(
    size: int,
    database: str,
    transit: TransitResult,
    bulk: BulkResult | None,
    signups: SignupResult | None,
    rss: float,
) -> str:
    base = transit.baseline.rate
    many = transit.parallel
    return json.dumps(
        {
            "bench": "journeys",
            "size": size,
            "database": database,
            "transitions_per_s": rounded(transit.single.rate),
            "baseline_transitions_per_s": rounded(base),
            "ratio": rounded(transit.single.rate / base, 4),
            "parallel_processes": transit.processes if many else None,
            "parallel_transitions_per_s": rounded(many.rate) if many else None,
            "parallel_ratio": rounded(many.rate / base, 4) if many else None,
            "bulk_customers": bulk.entry.count if bulk else 0,
            "bulk_seconds": rounded(bulk.entry.seconds, 2) if bulk else None,
            "bulk_rows_per_s": rounded(bulk.rows_per_s) if bulk else None,
            "baseline_bulk_rows_per_s": rounded(bulk.baseline.rate) if bulk else None,
            "bulk_ratio": rounded(bulk.rows_per_s / bulk.baseline.rate, 4) if bulk else None,
            "bulk_connections": bulk.connections if bulk else None,
            "baseline_bulk_parallel_rows_per_s": rounded(bulk.parallel.rate)
            if bulk and bulk.parallel
            else None,
            "bulk_parallel_ratio": rounded(bulk.rows_per_s / bulk.parallel.rate, 4)
            if bulk and bulk.parallel
            else None,
            "signups": signups.figure.count if signups else 0,
            "signups_events_per_s": rounded(signups.figure.rate) if signups else None,
            "signups_cpu_ms_per_event": rounded(signups.cpu_ms_per_event, 3) if signups else None,
            "peak_rss_mib": round(rss, 1),
            "gc_threshold": gc.get_threshold()[0],
        }
    )


def report(transit: TransitResult, bulk: BulkResult | None, signups: SignupResult | None) -> None:
    base = transit.baseline.rate
    print(f"ratio engine/baseline, 1 process: {transit.single.rate / base:.3f}")
    if transit.parallel:
        ratio = transit.parallel.rate / base
        print(f"ratio engine/baseline, {transit.processes} processes: {ratio:.3f}")
    best = max(transit.single.rate, transit.parallel.rate if transit.parallel else 0.0)
    verdict = "met" if best >= 5000 else "NOT met"
    print(f"target ≥ 5,000 transitions/s: {verdict} (best {best:,.0f}/s)")
    if bulk:
        scaled = bulk.entry.seconds * 1_000_000 / bulk.entry.count
        verdict = "met" if scaled <= 60 else "NOT met"
        ratio = bulk.rows_per_s / bulk.baseline.rate
        print(f"bulk ratio engine/baseline, 1 connection (rows/s): {ratio:.3f}")
        if bulk.parallel:
            ratio = bulk.rows_per_s / bulk.parallel.rate
            print(
                f"bulk ratio engine/baseline, {bulk.connections} connections "
                f"(rows/s, both over the same number): {ratio:.3f}"
            )
        print(f"target ≤ 60 s per 1,000,000 entrants: {verdict} ({scaled:.1f} s if linear)")
    if signups:
        rate = signups.figure.rate
        verdict = "met" if rate >= 1000 else "NOT met"
        print(f"target ≥ 1,000 sign-ups/s: {verdict} ({rate:,.0f}/s)")


def main() -> None:
    try:
        run(parse_args())
    except BenchError as exc:
        sys.exit(f"bench/journeys.py: {exc}")


def run(args: argparse.Namespace) -> None:
    check(args.size >= CHUNK, f"--size must be at least {CHUNK}")
    check(args.bulk >= 0, "--bulk must be 0 (skip) or more")
    check(args.processes >= 1, "--processes must be at least 1")
    check(args.signups == 0 or args.signups >= CHUNK, f"--signups: 0 or at least {CHUNK}")
    target = configure()
    from automation.worker.gc import tune_gc

    gc_threshold = tune_gc()  # what a worker process does when it starts
    print(f"{os.cpu_count()} cores; no broker: events are processed in this process")
    print(f"garbage collector: first-generation threshold {gc_threshold} (WORKER_GC_THRESHOLD)")
    tag = secrets.token_hex(3)  # fresh ids even on a database that is not emptied
    journeys = publish_journeys(tag)
    bare = Bare(target)
    try:
        bulk = bulk_phase(bare, target, journeys, tag, args.bulk) if args.bulk else None
        rss = bulk.peak_rss_mib if bulk else 0.0
        transit = transit_phase(bare, journeys, tag, args.size, args.processes)
        signups = signup_phase(bare, tag, args.signups) if args.signups else None
    finally:
        bare.close()
    rss = rss or peak_rss_mib()
    print(f"peak RSS of the bench process at the end: {peak_rss_mib():.0f} MiB")
    report(transit, bulk, signups)
    print(summary(args.size, target.database, transit, bulk, signups, rss))


if __name__ == "__main__":
    main()
