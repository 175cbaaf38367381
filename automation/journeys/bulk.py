"""Bulk entry: every customer a condition (a segment) selects enters a journey at once.

The per-event path moves one customer through the ORM; a segment of a million needs
set-based writes. Customers are read in pages by the condition compiled to SQL; the
start state's branches and splits are walked in Python (the same compiled machine
and the same bucket as the engine); enrollments, their transitions, the first
messages and timers are written in bulk: COPY on PostgreSQL (ids from one sequence
call per page), multi-row INSERT on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, or_, select, text, true
from sqlalchemy.engine import Connection

from automation import clock
from automation.conditions import Condition, Facts, compile_condition
from automation.db import get_engine, session_scope
from automation.errors import NotFound, ValidationError
from automation.journeys import registry
from automation.journeys.compiler import Compiled
from automation.journeys.engine import bucket
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
from automation.sql import among

PAGE = 10_000
_customers = Customer.__table__  # type: ignore[attr-defined]
_enrollments = Enrollment.__table__  # type: ignore[attr-defined]
_transitions = Transition.__table__  # type: ignore[attr-defined]
_messages = Message.__table__  # type: ignore[attr-defined]
_timers = Timer.__table__  # type: ignore[attr-defined]
BULK_ACTIONS = {"email", "sms", "call"}


@dataclass
class _Rows:
    """What one page writes, table by table."""

    enrollments: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)


def enter_matching(journey_id: str, where: dict[str, Any] | None = None) -> int:
    """Enter every customer matching ``where`` (a condition) into the journey's latest
    version, honouring its re-entry rule; returns how many entered."""
    condition = compile_condition(where or {}, allow_event=False)
    with session_scope() as session:
        journey = session.get(Journey, journey_id)
        if journey is None or not journey.latest_version_id:
            raise NotFound(f"no published journey '{journey_id}'")
        if journey.status != JourneyStatus.ACTIVE:
            raise ValidationError(f"journey '{journey_id}' is paused")
        compiled = registry.compiled(session, journey.latest_version_id)
    _check_bulkable(compiled)
    now = clock.now()
    total = 0
    for page in _pages(compiled, condition, now):
        with get_engine().begin() as conn:
            entrants = _may_enter(conn, compiled, page, now)
            if entrants:
                _write(conn, _plan(conn, compiled, entrants, now))
        total += len(entrants)
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


def _pages(compiled: Compiled, condition: Condition, now: datetime) -> Iterator[list[Any]]:
    """The matching customers, PAGE at a time.

    PostgreSQL: one server-side cursor, so the segment is scanned once whatever the
    planner thinks of the condition (keyset pages re-planned on stale statistics
    scanned the table once per page). SQLite: keyset pages, because a reader held open
    beside the writer would take SQLite's one write lock (``BEGIN IMMEDIATE``).
    """
    query = select(_customers).where(condition.to_sql(now))
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


def _plan(conn: Connection, compiled: Compiled, page: list[Any], now: datetime) -> _Rows:
    rows = _Rows()
    ids = _new_ids(conn, "enrollments", len(page))
    for customer, enrollment_id in zip(page, ids, strict=True):
        _plan_one(rows, compiled, customer, enrollment_id, now)
    return rows


def _plan_one(
    rows: _Rows, compiled: Compiled, customer: Any, enrollment_id: int, now: datetime
) -> None:
    spec, state, step = compiled.spec, compiled.spec.start, 0
    moves = [(None, state, "entry")]
    variant, control = None, False
    while (here := spec.state(state)).branch or here.split:
        if here.branch:
            facts = Facts(customer=customer, now=now)
            target, trigger = compiled.fire("branch", state, facts=facts), "branch"
        else:
            target, trigger = (
                compiled.fire("split", state, bucket=bucket(spec.journey_id, customer.customer_id)),
                "split",
            )
            variant, control = target, any(a.control and a.to == target for a in here.split)
        assert target is not None
        moves.append((state, target, trigger))
        state, step = target, step + 1
    rows.transitions += [
        {
            "enrollment_id": enrollment_id,
            "version_id": compiled.version_id,
            "from_state": a,
            "to_state": b,
            "trigger": t,
            "event_id": None,
            "at": now,
        }
        for a, b, t in moves
    ]
    last_message = _plan_messages(rows, compiled, customer, enrollment_id, state, step, now)
    final = spec.state(state)
    rows.enrollments.append(
        {
            "id": enrollment_id,
            "journey_id": spec.journey_id,
            "version_id": compiled.version_id,
            "customer_id": customer.customer_id,
            "key": "",
            "state": state,
            "step": step,
            "status": "completed" if final.end else "active",
            "variant": variant,
            "control": control,
            "entry_event_id": None,
            "last_message_id": last_message,
            "outcome_event_id": None,
            "context": {"bulk": True},
            "entered_at": now,
            "state_entered_at": now,
            "exited_at": now if final.end else None,
        }
    )
    values = {"customer.birth_date": customer.birth_date, "customer.joined_at": customer.joined_at}
    for timer in final.timers:
        due = due_at(timer, now, values, customer.timezone)
        if due is not None:
            rows.timers.append(
                {
                    "enrollment_id": enrollment_id,
                    "step": step,
                    "kind": timer.kind,
                    "target": timer.to,
                    "due_at": due,
                    "fired_at": None,
                    "created_at": now,
                }
            )


def _plan_messages(
    rows: _Rows,
    compiled: Compiled,
    customer: Any,
    enrollment_id: int,
    state: str,
    step: int,
    now: datetime,
) -> int | None:
    # Only the state the customer comes to rest in acts here (branch and split states do
    # nothing but route), so bulk entry decides the same messages the engine would.
    last = None
    for action in compiled.spec.state(state).actions:
        payload: dict[str, Any] = {"enrollment_id": enrollment_id, "trigger_event_id": None}
        if action.kind == "call":
            payload |= {"queue": action.args["queue"], "priority": action.args["priority"]}
        rows.messages.append(
            {
                "idempotency_key": f"enrollment:{enrollment_id}:{step}:{action.index}",
                "enrollment_id": enrollment_id,
                "journey_id": compiled.spec.journey_id,
                "version_id": compiled.version_id,
                "state": state,
                "customer_id": customer.customer_id,
                "channel": action.kind,
                "template": action.args.get("template"),
                "payload": payload,
                "status": "queued",
                "created_at": now,
            }
        )
        last = -1  # set once the message ids are known
    return last


def _new_ids(conn: Connection, table: str, n: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        query = text(f"SELECT nextval('{table}_id_seq') FROM generate_series(1, :n)")
        return [row[0] for row in conn.execute(query, {"n": n})]
    start = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return list(range(start + 1, start + 1 + n))


def _write(conn: Connection, rows: _Rows) -> None:
    message_ids = _new_ids(conn, "messages", len(rows.messages)) if rows.messages else []
    last_by_enrollment: dict[int, int] = {}
    for message, message_id in zip(rows.messages, message_ids, strict=True):
        message["id"] = message_id
        last_by_enrollment[message["enrollment_id"]] = message_id
    for enrollment in rows.enrollments:
        enrollment["last_message_id"] = last_by_enrollment.get(enrollment["id"])
    for table, data in (
        (_enrollments, rows.enrollments),
        (_transitions, rows.transitions),
        (_messages, rows.messages),
        (_timers, rows.timers),
    ):
        if data:
            _insert(conn, table, data)


def _insert(conn: Connection, table: Table, data: list[dict[str, Any]]) -> None:
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), data)
        return
    import orjson

    columns = list(data[0])
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in data:
            copy.write_row(
                [orjson.dumps(v).decode() if isinstance(v, dict) else v for v in row.values()]
            )
