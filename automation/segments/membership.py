"""Keeping segment membership up to date, and telling journeys about it.

Incrementally, per event (``step.py``, a pipeline step after the profile): the
event's customer is re-checked, in Python, against the segments the event can change
(:func:`concerns`). In bulk (:func:`refresh`, here): the condition compiled to SQL,
entries and exits computed in the database (on PostgreSQL in one statement: the
matching customers selected once, then exits, entries and their history rows, all
set-based). Either way every entry and exit is a ``segment_changes`` row and a
``segment_entered``/``segment_exited`` event a journey can start on. The first fill of
a new segment records its members without events, so publishing a segment does not
start a journey for everyone in it at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Delete,
    Insert,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from automation import clock
from automation.broker import enqueue_events
from automation.conditions import Condition
from automation.customers.preferences import PREFERENCE_TYPES
from automation.customers.profile import POLICY_TYPES, PROFILE_TYPES
from automation.db import get_engine, session_scope
from automation.db.sql import chunks
from automation.events.catalog import segment_changed
from automation.events.store import insert_events
from automation.models import Customer, Segment, SegmentChange, SegmentMember
from automation.segments import registry

_members = SegmentMember.__table__  # type: ignore[attr-defined]
_changes = SegmentChange.__table__  # type: ignore[attr-defined]
_customers = Customer.__table__  # type: ignore[attr-defined]
_segments = Segment.__table__  # type: ignore[attr-defined]


def concerns(condition: Condition, event_type: str) -> bool:
    """Can an event of ``event_type`` change whether a customer matches?"""
    fields = condition.fields
    if f"events:{event_type}" in fields:
        return True
    changes_customer = event_type in PROFILE_TYPES or event_type in PREFERENCE_TYPES
    if changes_customer and any(f.startswith("customer.") for f in fields):
        return True
    return event_type in POLICY_TYPES and any(f.startswith("policies") for f in fields)


@dataclass(frozen=True)
class Refreshed:
    """What one bulk refresh of a segment changed."""

    segment_id: str
    members: int
    entered: int
    exited: int
    events: int


def refresh(segment_id: str, *, emit: bool | None = None) -> Refreshed:
    """Recompute a segment over all customers in SQL; entries and exits are recorded
    and (unless this is the segment's first fill, or ``emit`` is False) emitted."""
    now = clock.now()
    with session_scope() as session:
        row = registry.get(session, segment_id)
        condition = registry.compiled(row)
        conn = session.connection()
        # A new segment's first fill is silent; one that events already fed is not new.
        first_fill = (
            row.refreshed_at is None
            and not conn.execute(
                select(_members.c.customer_id).where(_members.c.segment_id == segment_id).limit(1)
            ).first()
        )
        emitting = emit if emit is not None else not first_fill
        moves = _Moves(segment_id, condition.to_sql(now), now)
        if conn.dialect.name == "postgresql":
            entered, exited, counts = moves.apply_pg(conn, ids=emitting)
        else:
            entered, exited = moves.apply(conn)
            counts = len(entered), len(exited)
        stored: dict[str, int] = {}
        if emitting:
            tag = f"r{now.isoformat()}"
            changes = [(cid, True) for cid in entered] + [(cid, False) for cid in exited]
            for part in chunks(changes, 5000):
                events = [
                    segment_changed(segment_id, cid, inside, now, tag) for cid, inside in part
                ]
                stored |= insert_events(conn, events, now, "segments")
        row.refreshed_at = now
        session.add(row)
        members = conn.execute(
            select(func.count()).select_from(_members).where(_members.c.segment_id == segment_id)
        ).scalar_one()
    if stored:
        enqueue_events(list(stored.values()))
    return Refreshed(segment_id, int(members), counts[0], counts[1], len(stored))


@dataclass(frozen=True)
class _Moves:
    """A refresh's changes: members who no longer match leave, customers who match and
    are not members enter (both as of one snapshot, so their order does not matter)."""

    segment_id: str
    where: ColumnElement[bool]
    now: datetime

    def leavers(self, matching: FromClause, *where: ColumnElement[bool]) -> Delete:
        m = _members
        still = exists().where(matching.c.customer_id == m.c.customer_id, *where)
        return delete(m).where(m.c.segment_id == self.segment_id, ~still)

    def entrants(self, matching: FromClause, *where: ColumnElement[bool]) -> Insert:
        m, who = _members, matching.c.customer_id
        member = exists().where(m.c.segment_id == self.segment_id, m.c.customer_id == who)
        at = literal(self.now, m.c.entered_at.type)
        rows = select(literal(self.segment_id), who, at).where(*where, ~member)
        return insert(m).from_select(["segment_id", "customer_id", "entered_at"], rows)

    def entrants_pg(self, matching: FromClause) -> Insert:
        """:meth:`entrants` that skips a customer a worker's segment step entered while
        this statement ran (the same move, made first; only the rows inserted return)."""
        m, who = _members, matching.c.customer_id
        member = exists().where(m.c.segment_id == self.segment_id, m.c.customer_id == who)
        at = literal(self.now, m.c.entered_at.type)
        rows = select(literal(self.segment_id), who, at).where(~member)
        columns = ["segment_id", "customer_id", "entered_at"]
        return pg_insert(m).from_select(columns, rows).on_conflict_do_nothing()

    def apply(self, conn: Connection) -> tuple[list[str], list[str]]:
        """Leavers first (the members just inserted need no re-check), then entrants,
        each testing the condition; their history rows from the ids returned."""
        who, c = _members.c.customer_id, _customers
        exited = list(conn.execute(self.leavers(c, self.where).returning(who)).scalars())
        entered = list(conn.execute(self.entrants(c, self.where).returning(who)).scalars())
        record_changes(conn, self.segment_id, entered, True, self.now, "refresh", None)
        record_changes(conn, self.segment_id, exited, False, self.now, "refresh", None)
        return entered, exited

    def apply_pg(
        self, conn: Connection, *, ids: bool
    ) -> tuple[list[str], list[str], tuple[int, int]]:
        """One statement: the matching customers selected once (one pass over the
        events a history condition counts), the exits and entries against them, and
        their history rows by ``INSERT … SELECT``; the ids come back only when ``ids``."""
        c, who = _customers, _members.c.customer_id
        matching = select(c.c.customer_id).where(self.where).cte("matching")
        matching = matching.prefix_with("MATERIALIZED")  # read twice: computed once
        gone = self.leavers(matching).returning(who).cte("exited")
        came = self.entrants_pg(matching).returning(who).cte("entered")
        moved = union_all(
            select(came.c.customer_id, true().label("entered")),
            select(gone.c.customer_id, false()),
        ).cte("moved")
        at, cause = literal(self.now, _changes.c.at.type), literal("refresh")
        logged = (
            insert(_changes)
            .from_select(
                ["segment_id", "customer_id", "entered", "at", "cause"],
                select(literal(self.segment_id), moved.c.customer_id, moved.c.entered, at, cause),
            )
            .cte("logged")
        )
        if ids:
            final = select(moved.c.customer_id, moved.c.entered)
        else:
            counted = [select(func.count()).select_from(t).scalar_subquery() for t in (came, gone)]
            final = select(*counted)
        with _whole_sets(conn):
            rows = conn.execute(final.add_cte(logged)).all()
        if not ids:
            return [], [], (int(rows[0][0]), int(rows[0][1]))
        entered = [cid for cid, inside in rows if inside]
        exited = [cid for cid, inside in rows if not inside]
        return entered, exited, (len(entered), len(exited))


@contextmanager
def _whole_sets(conn: Connection) -> Iterator[None]:
    """PostgreSQL without nested loops for one statement: a refresh joins whole sets,
    and just after a fill the statistics of ``segment_members`` may still count the
    segment as empty (autovacuum has not analysed it yet), so the planner would loop
    over its members once per matching customer: members × matching comparisons."""
    before = conn.exec_driver_sql(
        "SELECT current_setting('enable_nestloop'), set_config('enable_nestloop', 'off', true)"
    ).scalar_one()
    yield
    conn.exec_driver_sql("SELECT set_config('enable_nestloop', %(v)s, true)", {"v": before})


def refresh_all(emit: bool | None = None) -> list[Refreshed]:
    """Refresh every published segment."""
    with session_scope() as session:
        ids = [row.segment_id for row, _ in registry.segments(session)]
    return [refresh(segment_id, emit=emit) for segment_id in ids]


def member_counts() -> dict[str, int]:
    """Members per segment."""
    query = select(_members.c.segment_id, func.count()).group_by(_members.c.segment_id)
    with get_engine().connect() as conn:
        return {sid: int(n) for sid, n in conn.execute(query)}


def record_changes(
    conn: Connection,
    segment_id: str,
    customer_ids: list[str],
    entered: bool,
    now: datetime,
    cause: str,
    event_id: int | None,
) -> None:
    """History rows: ``customer_ids`` entered (or left) the segment for ``cause``."""
    if not customer_ids:
        return
    if conn.dialect.name == "postgresql":
        # One statement for a million rows: the ids go as one array parameter.
        conn.exec_driver_sql(
            "INSERT INTO segment_changes (segment_id, customer_id, entered, at, cause, event_id) "
            "SELECT %(segment)s, c, %(entered)s, %(at)s, %(cause)s, %(event)s "
            "FROM unnest(%(ids)s::varchar[]) AS c",
            {
                "segment": segment_id,
                "entered": entered,
                "at": now,
                "cause": cause,
                "event": event_id,
                "ids": customer_ids,
            },
        )
        return
    conn.execute(
        insert(_changes),
        [
            {
                "segment_id": segment_id,
                "customer_id": cid,
                "entered": entered,
                "at": now,
                "cause": cause,
                "event_id": event_id,
            }
            for cid in customer_ids
        ],
    )
