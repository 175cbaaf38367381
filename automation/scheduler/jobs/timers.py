"""The timers job: journey timers that are due become ``timer_due`` events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Connection

from automation import clock
from automation.db import get_engine, mark_redoable
from automation.db.sql import chunks, execute_arrays
from automation.events import catalog
from automation.events.ingest import announce
from automation.events.store import insert_events
from automation.models import Enrollment, Journey, Timer

if TYPE_CHECKING:
    import psycopg

BATCH = 1000  # timers a transaction
LOOK = BATCH * 10  # due timers read at a time
_timers = Timer.__table__  # type: ignore[attr-defined]
_enrollments = Enrollment.__table__  # type: ignore[attr-defined]
_journeys = Journey.__table__  # type: ignore[attr-defined]


def fire_due_timers(now: datetime | None = None) -> int:
    """Emit a ``timer_due`` event (id ``timer:<id>``) for every due timer of an active
    journey, oldest first; returns how many were emitted. Timers of a paused journey
    wait for it to resume."""
    at = now or clock.now()
    total, after = 0, None
    while due := _due(at, after):
        for part in chunks(due, BATCH):
            _fire(part, at)
            total += len(part)
        after = due[-1][2], due[-1][0]
    return total


Due = tuple[int, str, datetime, int, int, str]  # timer id, customer, due, enrollment, step, kind


def _fire(part: list[Due], at: datetime) -> None:
    """One transaction: the ``timer_due`` events stored (``store.insert_events``, as
    delivery stores ``email_sent``) and the timers marked fired, then the events
    enqueued. Through ``ingest`` it took two, ingest's and then the mark's, and a crash
    between them left an event stored with its timer unfired. The events name a
    customer and no visitor, so ingest's identity work had nothing to do."""
    events = [catalog.timer_due(*row) for row in part]
    with get_engine().begin() as conn:
        mark_redoable(conn)  # a batch a crash undoes leaves its timers unfired: fired again
        stored = insert_events(conn, events, clock.plain_utc(clock.now()), "scheduler")
        _mark_fired(conn, [row[0] for row in part], at)
    announce("scheduler", len(events), list(stored.values()))  # one stored already: a duplicate


def _mark_fired(conn: Connection, ids: list[int], at: datetime) -> None:
    if conn.dialect.name == "postgresql":
        # The ids as one binary array: SQLAlchemy binds an array as text, element by
        # element, which was a tenth of the job's time at 1,000 ids a batch.
        execute_arrays(conn, _MARK_FIRED, {"id": ids, "at": clock.plain_utc(at)})
        return
    conn.execute(update(_timers).where(_timers.c.id.in_(ids)).values(fired_at=at))


_MARK_FIRED = "UPDATE timers SET fired_at = %(at)s WHERE id = ANY(%(id)b::bigint[])"


def _due(at: datetime, after: tuple[datetime, int] | None) -> list[Due]:
    """The next due timers (``Due``), oldest first, after the (due, id) of the
    last ones. From there, not from the start: the pending index keeps the timers just
    fired as dead entries until a vacuum, and every look from the start walked them
    all again, which grows with the square of a backlog (a million due after an
    outage: a hundred looks)."""
    low, last = after or (_EARLIEST, 0)
    params = {"at": at, "low": low, "last": last, "n": LOOK}
    with get_engine().connect() as conn:
        if conn.dialect.name != "postgresql":
            return [tuple(row) for row in conn.execute(_DUE, params)]  # type: ignore[misc]
        # psycopg's rows as they come: SQLAlchemy's rows and its time type's processing
        # were most of this look's time (10,000 rows at a time).
        raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
        with raw.cursor(binary=True) as cur:
            compiled = _DUE.compile(dialect=conn.dialect)
            cur.execute(str(compiled), compiled.params | params)
            return cur.fetchall()


_EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
_t = _timers.c
_DUE = (
    select(_t.id, _enrollments.c.customer_id, _t.due_at, _t.enrollment_id, _t.step, _t.kind)
    .join(_enrollments, _enrollments.c.id == _t.enrollment_id)
    .join(_journeys, _journeys.c.journey_id == _enrollments.c.journey_id)
    .where(
        _t.fired_at.is_(None),
        _t.due_at <= bindparam("at"),
        _journeys.c.status == "active",
        _t.due_at >= bindparam("low"),
        or_(_t.due_at > bindparam("low"), _t.id > bindparam("last")),
    )
    .order_by(_t.due_at, _t.id)
    .limit(bindparam("n"))
)
