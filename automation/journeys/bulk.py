"""Bulk entry: every customer a condition (a segment) selects enters a journey at once.

The per-event path moves one customer through the ORM; a segment of a million needs
set-based writes. Customers are read in pages by the condition compiled to SQL; the
start state's branches and splits are walked in Python (the same compiled machine
and the same bucket as the engine); enrollments, their transitions, the first
messages and timers are written in bulk: COPY on PostgreSQL (ids from one sequence
call per page), multi-row INSERT on SQLite.

On PostgreSQL the pages are written over ``BULK_CONNECTIONS`` connections at once
(each page its own transaction), because the server's work per row (indexes and
foreign-key checks) takes one core per connection while the reader and the planner
here take little. A failed page stops the entry; the pages already written stay,
and running it again enters the rest (the re-entry rule keeps out who is in).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy import Table, or_, select, text, true
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from automation import clock
from automation.conditions import Condition, Facts, compile_condition
from automation.config import get_settings
from automation.db import get_engine, session_scope
from automation.db.sql import among
from automation.errors import NotFound, ValidationError
from automation.journeys import registry
from automation.journeys.compiler import Compiled
from automation.journeys.definition import TimerSpec
from automation.journeys.moves import bucket
from automation.journeys.timing import due_at
from automation.models import (
    Customer,
    Enrollment,
    Journey,
    JourneyStatus,
    Message,
    Timer,
    Transition,
)

PAGE = 10_000
_customers = Customer.__table__  # type: ignore[attr-defined]
_enrollments = Enrollment.__table__  # type: ignore[attr-defined]
_transitions = Transition.__table__  # type: ignore[attr-defined]
_messages = Message.__table__  # type: ignore[attr-defined]
_timers = Timer.__table__  # type: ignore[attr-defined]
BULK_ACTIONS = {"email", "sms", "call"}
# What a page writes, table by table, as rows of values in these columns' order.
ENROLLMENT_COLUMNS = (
    "id", "journey_id", "version_id", "customer_id", "key", "state", "step", "status",
    "variant", "control", "last_message_id", "context", "entered_at", "state_entered_at",
    "exited_at",
)  # fmt: skip
TRANSITION_COLUMNS = ("enrollment_id", "version_id", "from_state", "to_state", "trigger", "at")
MESSAGE_COLUMNS = (
    "id", "idempotency_key", "enrollment_id", "journey_id", "version_id", "state",
    "customer_id", "channel", "template", "payload", "status", "created_at",
)  # fmt: skip
TIMER_COLUMNS = ("enrollment_id", "step", "kind", "target", "due_at", "created_at")
_LAST_MESSAGE = ENROLLMENT_COLUMNS.index("last_message_id")
# Read when no branch needs the whole customer: the id, and what timers are set from.
_TIMER_FIELDS = ("customer_id", "timezone", "birth_date", "joined_at")


@dataclass
class _Rows:
    """What one page writes, table by table."""

    enrollments: list[list[Any]] = field(default_factory=list)
    transitions: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[list[Any]] = field(default_factory=list)
    timers: list[tuple[Any, ...]] = field(default_factory=list)


def enter_matching(
    journey_id: str, where: dict[str, Any] | None = None, *, connections: int | None = None
) -> int:
    """Enter every customer matching ``where`` (a condition) into the journey's latest
    version, honouring its re-entry rule; returns how many entered.

    ``connections``: how many pages are written at once (default: the
    ``BULK_CONNECTIONS`` setting on PostgreSQL; always 1 on SQLite, one writer).
    """
    condition = compile_condition(where or {}, allow_event=False)
    with session_scope() as session:
        journey = session.get(Journey, journey_id)
        if journey is None or not journey.latest_version_id:
            raise NotFound(f"no published journey '{journey_id}'")
        if journey.status != JourneyStatus.ACTIVE:
            raise ValidationError(f"journey '{journey_id}' is paused")
        compiled = registry.compiled(session, journey.latest_version_id)
    _check_bulkable(compiled)
    engine = get_engine()
    planner = _Planner(compiled, clock.now(), engine.dialect.name)
    if engine.dialect.name != "postgresql":
        connections = 1
    elif connections is None:
        connections = get_settings().bulk_connections
    with closing(_pages(condition, planner.columns(), planner.now)) as pages:
        if connections <= 1:
            return sum(planner.enter(page) for page in pages)
        return _in_parallel(pages, planner.enter, connections)


def _in_parallel(pages: Iterator[list[Any]], enter: Callable[[list[Any]], int], n: int) -> int:
    """``enter`` each page on one of ``n`` threads, at most ``n`` pages in hand at once
    (the reader waits for the oldest), the first failure raised once the rest stop."""
    total = 0
    pending: deque[Future[int]] = deque()
    with ThreadPoolExecutor(n, thread_name_prefix="bulk-entry") as pool:
        try:
            for page in pages:
                if len(pending) >= n:
                    total += pending.popleft().result()
                pending.append(pool.submit(enter, page))
            while pending:
                total += pending.popleft().result()
        finally:
            for waiting in pending:
                waiting.cancel()
    return total


def _check_bulkable(compiled: Compiled) -> None:
    if compiled.spec.entry.key:
        raise ValidationError(
            f"'{compiled.spec.journey_id}' runs once per {compiled.spec.entry.key}; "
            "bulk entry is for journeys that run per customer"
        )
    for name in _immediate_closure(compiled):
        for action in compiled.spec.state(name).actions:
            if action.kind not in BULK_ACTIONS:
                raise ValidationError(
                    f"bulk entry sends messages only; state '{name}' does '{action.kind}'"
                )


def _immediate_closure(compiled: Compiled) -> set[str]:
    """The start state and every state reachable from it without waiting."""
    seen, todo = set(), [compiled.spec.start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = compiled.spec.state(name)
        todo += [b.to for b in state.branch] + [a.to for a in state.split]
    return seen


def _pages(condition: Condition, columns: list[Any], now: datetime) -> Iterator[list[Any]]:
    """The matching customers, PAGE at a time.

    PostgreSQL: one server-side cursor, so the segment is scanned once whatever the
    planner thinks of the condition (keyset pages re-planned on stale statistics
    scanned the table once per page). SQLite: keyset pages, because a reader held open
    beside the writer would take SQLite's one write lock (``BEGIN IMMEDIATE``).
    """
    query = select(*columns).where(condition.to_sql(now))
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=PAGE).execute(query)
            yield from (list(part) for part in result.partitions(PAGE))
        return
    after = ""
    while True:
        keyset = query.where(_customers.c.customer_id > after)
        with engine.connect() as conn:
            page = list(conn.execute(keyset.order_by(_customers.c.customer_id).limit(PAGE)))
        if not page:
            return
        yield page
        after = page[-1].customer_id


class _Planner:
    """Plans and writes pages of entrants into one journey version at one instant.

    What is the same for many customers is worked out once: where a split sends a
    bucket, when a timer falls due, and the instant and JSON as the database takes
    them (on PostgreSQL, COPY text; formatting one instant a million times cost more
    than the rest of the plan).
    """

    def __init__(self, compiled: Compiled, now: datetime, dialect: str) -> None:
        self.compiled, self.now, self.pg = compiled, now, dialect == "postgresql"
        self.stamp: Any = self.time(now)
        self.context: Any = self.json({"bulk": True})
        self._splits: dict[tuple[str, int], tuple[str, bool]] = {}
        self._dues: dict[tuple[int, Any, str], Any] = {}
        closure = _immediate_closure(compiled)
        self.branches = any(compiled.spec.state(name).branch for name in closure)

    def time(self, at: datetime) -> Any:
        return at.isoformat() if self.pg else at

    def json(self, value: dict[str, Any]) -> Any:
        return orjson.dumps(value).decode() if self.pg else value

    def columns(self) -> list[Any]:
        """What to read of each customer: all of it when a branch may ask."""
        if self.branches:
            return [_customers]
        return [_customers.c[name] for name in _TIMER_FIELDS]

    def enter(self, page: list[Any]) -> int:
        """One page in one transaction: who may enter, their rows planned and written.

        A customer the engine enrolled meanwhile (an event processed while the page was
        planned) breaks the page on the one-active-enrollment index: the page is then
        planned again, and the re-entry check sees that enrollment.
        """
        for attempt in range(2):
            try:
                with get_engine().begin() as conn:
                    entrants = _may_enter(conn, self.compiled, page, self.now)
                    if entrants:
                        _write(conn, self.plan(conn, entrants))
                return len(entrants)
            except (IntegrityError, psycopg.IntegrityError):  # ORM INSERT, or COPY
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def plan(self, conn: Connection, page: list[Any]) -> _Rows:
        rows = _Rows()
        ids = _new_ids(conn, "enrollments", len(page))
        for customer, enrollment_id in zip(page, ids, strict=True):
            self._plan_one(rows, customer, enrollment_id)
        return rows

    def _plan_one(self, rows: _Rows, customer: Any, enrollment_id: int) -> None:
        compiled, stamp = self.compiled, self.stamp
        spec, state, step = compiled.spec, compiled.spec.start, 0
        version_id = compiled.version_id
        rows.transitions.append((enrollment_id, version_id, None, state, "entry", stamp))
        variant, control = None, False
        while (here := spec.state(state)).branch or here.split:
            if here.branch:
                facts = Facts(customer=customer, now=self.now)
                target, trigger = compiled.fire("branch", state, facts=facts), "branch"
            else:
                (target, control), trigger = self._split(state, customer.customer_id), "split"
                variant = target
            assert target is not None
            rows.transitions.append((enrollment_id, version_id, state, target, trigger, stamp))
            state, step = target, step + 1
        last_message = self._plan_messages(rows, customer, enrollment_id, state, step)
        end = here.end
        rows.enrollments.append(
            [
                enrollment_id, spec.journey_id, version_id, customer.customer_id, "", state,
                step, "completed" if end else "active", variant, control, last_message,
                self.context, stamp, stamp, stamp if end else None,
            ]
        )  # fmt: skip
        for timer in here.timers:
            due = self._due(timer, customer)
            if due is not None:
                rows.timers.append((enrollment_id, step, timer.kind, timer.to, due, stamp))

    def _split(self, state: str, customer_id: str) -> tuple[str, bool]:
        """Where a split sends the customer, and whether that arm is the control."""
        # The machine decides; a (state, bucket) pair always goes the same way.
        key = (state, bucket(self.compiled.spec.journey_id, customer_id))
        arm = self._splits.get(key)
        if arm is None:
            target = self.compiled.fire("split", state, bucket=key[1])
            assert target is not None
            arms = self.compiled.spec.state(state).split
            arm = self._splits[key] = (target, any(a.control and a.to == target for a in arms))
        return arm

    def _due(self, timer: TimerSpec, customer: Any) -> Any:
        # An `after` timer falls due at the same instant for every entrant; an `at` timer
        # at the same instant for every entrant with the same date and time zone.
        field = timer.date_field or ""
        value = None
        if timer.kind != "after" and field.startswith("customer."):
            value = getattr(customer, field.removeprefix("customer."))
        key = (id(timer), value, "" if timer.kind == "after" else customer.timezone)
        if key not in self._dues:
            due = due_at(timer, self.now, {field: value}, customer.timezone)
            self._dues[key] = None if due is None else self.time(due)
        return self._dues[key]

    def _plan_messages(
        self, rows: _Rows, customer: Any, enrollment_id: int, state: str, step: int
    ) -> int | None:
        # Only the state the customer comes to rest in acts here (branch and split states
        # do nothing but route), so bulk entry decides the same messages the engine would.
        compiled, last = self.compiled, None
        for action in compiled.spec.state(state).actions:
            payload: dict[str, Any] = {"enrollment_id": enrollment_id, "trigger_event_id": None}
            if action.kind == "call":
                payload |= {"queue": action.args["queue"], "priority": action.args["priority"]}
            if action.args.get("product"):  # chosen at render (journeys/products.py)
                payload["product_wanted"] = action.args["product"]
            rows.messages.append(
                [
                    None,  # the id, known once the page's messages are counted
                    f"enrollment:{enrollment_id}:{step}:{action.index}", enrollment_id,
                    compiled.spec.journey_id, compiled.version_id, state, customer.customer_id,
                    action.kind, action.args.get("template"), self.json(payload), "queued",
                    self.stamp,
                ]
            )  # fmt: skip
            last = -1  # set once the message ids are known
        return last


def _may_enter(conn: Connection, compiled: Compiled, page: list[Any], now: datetime) -> list[Any]:
    """The page's customers whose re-entry rule lets them in now.

    Looked up by the page's ids (an index probe), not as a NOT EXISTS in the page's
    query: the enrollments table grows by the million during one bulk entry, faster
    than statistics follow, and a stale plan turned the anti-join into a scan per row.
    """
    entry, e = compiled.spec.entry, _enrollments
    blocking: Any = e.c.status == "active"
    if entry.reentry == "once":
        blocking = true()
    elif entry.reentry == "after" and entry.cooldown is not None:
        blocking = or_(blocking, e.c.exited_at > now - entry.cooldown)
    ids = [c.customer_id for c in page]
    query = select(e.c.customer_id).where(
        among(conn.dialect.name, e.c.customer_id, ids),
        e.c.journey_id == compiled.spec.journey_id,
        e.c.key == "",
        blocking,
    )
    blocked = set(conn.execute(query).scalars())
    return [c for c in page if c.customer_id not in blocked]


def _new_ids(conn: Connection, table: str, n: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        # One array, not n rows: the rows cost more to read than the sequence to run.
        query = text(f"SELECT array_agg(nextval('{table}_id_seq')) FROM generate_series(1, :n)")
        return list(conn.execute(query, {"n": n}).scalar_one())
    start = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return list(range(start + 1, start + 1 + n))


def _write(conn: Connection, rows: _Rows) -> None:
    message_ids = _new_ids(conn, "messages", len(rows.messages)) if rows.messages else []
    last_by_enrollment: dict[int, int] = {}
    for message, message_id in zip(rows.messages, message_ids, strict=True):
        message[0] = message_id
        last_by_enrollment[message[2]] = message_id
    for enrollment in rows.enrollments:
        enrollment[_LAST_MESSAGE] = last_by_enrollment.get(enrollment[0])
    for table, columns, data in (
        (_enrollments, ENROLLMENT_COLUMNS, rows.enrollments),
        (_transitions, TRANSITION_COLUMNS, rows.transitions),
        (_messages, MESSAGE_COLUMNS, rows.messages),
        (_timers, TIMER_COLUMNS, rows.timers),
    ):
        if data:
            _insert(conn, table, columns, data)


def _insert(conn: Connection, table: Table, columns: tuple[str, ...], data: list[Any]) -> None:
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in data])
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in data:
            copy.write_row(row)
