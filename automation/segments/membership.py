"""Keeping segment membership up to date, and telling journeys about it.

Incrementally, per event (a pipeline step after the profile): the event's customer
is re-checked, in Python, against the segments the event can change — those that
count events of its type, or read customer fields or policies the profile step just
changed. In bulk (``refresh``): the condition compiled to SQL, entries and exits
computed in the database. Either way every entry and exit is a ``segment_changes``
row and a ``segment_entered``/``segment_exited`` event a journey can start on. The
first fill of a new segment records its members without events, so publishing a
segment does not start a journey for everyone in it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, insert, literal, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from automation import clock
from automation.conditions import Condition, Facts
from automation.db import get_engine, session_scope
from automation.event_schema import EventIn
from automation.event_store import insert_events
from automation.models import Customer, Event, Segment, SegmentChange, SegmentMember
from automation.preferences import PREFERENCE_TYPES
from automation.processing import add_step
from automation.profile import POLICY_TYPES, PROFILE_TYPES, locked_customer
from automation.publish import publish_events
from automation.segments import registry
from automation.sql import chunks

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


def prepare(session: Session, events: list[Event]) -> None:
    """Once per chunk: the segments (a handful of rows)."""
    session.info["segments"] = registry.segments(session)


def apply_segments(session: Session, event: Event) -> None:
    """Re-check the event's customer against the segments it can change (a pipeline step)."""
    if not event.customer_id:
        return
    wanted = [
        (row, cond)
        for row, cond in session.info.get("segments", [])
        if concerns(cond, event.type)
        # a segment event concerns only the segments that name that segment
        and (
            not event.type.startswith("segment_")
            or f"segments:{event.properties.get('segment')}" in cond.fields
        )
    ]
    if not wanted:
        return
    customer = locked_customer(session, event.customer_id)
    if customer is None:
        return
    now = clock.now()
    facts = Facts(customer=customer, now=now, session=session)
    current = set(
        session.exec(
            select(_members.c.segment_id).where(_members.c.customer_id == customer.customer_id)
        ).scalars()  # type: ignore[call-overload]
    )
    for row, cond in wanted:
        inside = cond.matches(facts)
        was = row.segment_id in current
        if inside == was:
            continue
        conn = session.connection()
        if inside:
            conn.execute(
                insert(_members).values(
                    segment_id=row.segment_id, customer_id=customer.customer_id, entered_at=now
                )
            )
        else:
            conn.execute(
                delete(_members).where(
                    _members.c.segment_id == row.segment_id,
                    _members.c.customer_id == customer.customer_id,
                )
            )
        _record(conn, row.segment_id, [customer.customer_id], inside, now, "event", event.id)
        stored = insert_events(
            conn,
            [_event(row.segment_id, customer.customer_id, inside, now, f"e{event.id}")],
            now,
            "segments",
        )
        session.info.setdefault("emitted", []).extend(stored.values())


add_step(apply_segments, prepare=prepare, rank=30)


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
        _record(conn, segment_id, entered, True, now, "refresh", None)
        _record(conn, segment_id, exited, False, now, "refresh", None)
        stored: dict[str, int] = {}
        if emit if emit is not None else not first_fill:
            tag = f"r{now.isoformat()}"
            changes = [(cid, True) for cid in entered] + [(cid, False) for cid in exited]
            for part in chunks(changes, 5000):
                events = [_event(segment_id, cid, inside, now, tag) for cid, inside in part]
                stored |= insert_events(conn, events, now, "segments")
        row.refreshed_at = now
        session.add(row)
        members = conn.execute(
            select(func.count()).select_from(m).where(m.c.segment_id == segment_id)
        ).scalar_one()
    if stored:
        publish_events(list(stored.values()))
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


def _record(
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


def _event(segment_id: str, customer_id: str, entered: bool, now: datetime, tag: str) -> EventIn:
    kind = "entered" if entered else "exited"
    return EventIn(
        event_id=f"segment:{segment_id}:{customer_id}:{kind}:{tag}",
        type=f"segment_{kind}",
        occurred_at=now,
        visitor_id=None,
        customer_id=customer_id,
        properties={"segment": segment_id},
    )
