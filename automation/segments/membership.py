"""Keeping segment membership up to date, and telling journeys about it.

Incrementally, per event (``step.py``, a pipeline step after the profile): the
event's customer is re-checked, in Python, against the segments the event can change
(:func:`concerns`). In bulk (:func:`refresh`, here): the condition compiled to SQL,
entries and exits computed in the database. Either way every entry and exit is a ``segment_changes``
row and a ``segment_entered``/``segment_exited`` event a journey can start on. The
first fill of a new segment records its members without events, so publishing a
segment does not start a journey for everyone in it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, insert, literal, select
from sqlalchemy.engine import Connection

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
        where = condition.to_sql(now)
        m, c = _members, _customers
        member = exists().where(m.c.segment_id == segment_id, m.c.customer_id == c.c.customer_id)
        # Leavers first: the members just inserted need no re-check.
        still = exists().where(c.c.customer_id == m.c.customer_id, where)
        exited = list(
            conn.execute(
                delete(m).where(m.c.segment_id == segment_id, ~still).returning(m.c.customer_id)
            ).scalars()
        )
        entered = list(
            conn.execute(
                insert(m)
                .from_select(
                    ["segment_id", "customer_id", "entered_at"],
                    select(
                        literal(segment_id), c.c.customer_id, literal(now, m.c.entered_at.type)
                    ).where(where, ~member),
                )
                .returning(m.c.customer_id)
            ).scalars()
        )
        record_changes(conn, segment_id, entered, True, now, "refresh", None)
        record_changes(conn, segment_id, exited, False, now, "refresh", None)
        stored: dict[str, int] = {}
        if emit if emit is not None else not first_fill:
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
            select(func.count()).select_from(m).where(m.c.segment_id == segment_id)
        ).scalar_one()
    if stored:
        enqueue_events(list(stored.values()))
    return Refreshed(segment_id, int(members), len(entered), len(exited), len(stored))


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
