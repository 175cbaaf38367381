"""The segments step: the event's customer re-checked, in Python, against the segments
the event can change (``membership.concerns``): those that count events of its type,
or read customer fields or policies the profile step just changed. An entry or exit
is a ``segment_changes`` row and a ``segment_entered``/``segment_exited`` event,
stored in the chunk's transaction (an event's changes together, after its checks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from automation import clock
from automation.conditions import Condition, Facts
from automation.customers.chunk import Chunk
from automation.events.catalog import segment_changed
from automation.events.schema import EventIn
from automation.models import Event, Segment, SegmentChange, SegmentMember
from automation.segments import registry
from automation.segments.membership import concerns

_members = SegmentMember.__table__  # type: ignore[attr-defined]
_changes = SegmentChange.__table__  # type: ignore[attr-defined]


class SegmentStep:
    """Built once per chunk: the segments (a handful of rows), and the memberships of
    the chunk's customers, loaded at the first event that needs them."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.segments: list[tuple[Segment, Condition]] = registry.segments(chunk.session)
        # Customer → the segments they are in, kept as this step changes them: a query
        # (and the autoflush before it) per event was most of this step's time.
        self.members: dict[str, set[str]] | None = None

    def _current(self, customer_id: str) -> set[str]:
        if self.members is None:
            customers = sorted({e.customer_id for e in self.chunk.events if e.customer_id})
            self.members = self._load(customers)
        if customer_id not in self.members:
            self.members |= self._load([customer_id])
        return self.members[customer_id]

    def _load(self, customer_ids: list[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {c: set() for c in customer_ids}
        query = select(_members.c.customer_id, _members.c.segment_id).where(
            _members.c.customer_id.in_(customer_ids)
        )
        for customer_id, segment_id in self.chunk.session.connection().execute(query):
            found[customer_id].add(segment_id)
        return found

    def apply(self, event: Event) -> None:
        """Re-check the event's customer against the segments it can change."""
        if not event.customer_id:
            return
        wanted = [
            (row, cond)
            for row, cond in self.segments
            if concerns(cond, event.type)
            # a segment event concerns only the segments that name that segment
            and (
                not event.type.startswith("segment_")
                or f"segments:{event.properties.get('segment')}" in cond.fields
            )
        ]
        if not wanted:
            return
        customer = self.chunk.customer(event.customer_id)
        if customer is None:
            return
        session = self.chunk.session
        now = clock.now()
        facts = Facts(customer=customer, now=now, session=session)
        current = self._current(customer.customer_id)
        # The history rows and events of this event's changes are written together after
        # the loop; membership rows at once, since a later segment may name an earlier.
        history: list[dict[str, object]] = []
        changed: list[EventIn] = []
        conn = session.connection()
        for row, cond in wanted:
            inside = cond.matches(facts)
            was = row.segment_id in current
            if inside == was:
                continue
            if inside:
                current.add(row.segment_id)
                values = {"segment_id": row.segment_id, "customer_id": customer.customer_id}
                move = add_member(conn).values(**values, entered_at=now)
            else:
                current.discard(row.segment_id)
                move = delete(_members).where(
                    _members.c.segment_id == row.segment_id,
                    _members.c.customer_id == customer.customer_id,
                )
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT.
            if conn.execute(move.returning(_members.c.customer_id)).first() is None:
                continue  # a refresh running beside this worker made the same move first
            history.append(
                {
                    "segment_id": row.segment_id,
                    "customer_id": customer.customer_id,
                    "entered": inside,
                    "at": now,
                    "cause": "event",
                    "event_id": event.id,
                }
            )
            changed.append(
                segment_changed(row.segment_id, customer.customer_id, inside, now, f"e{event.id}")
            )
        if history:
            conn.execute(insert(_changes), history)
            self.chunk.emit(changed, "segments")


def add_member(conn: Connection) -> Any:
    """An INSERT into ``segment_members`` that does nothing when the row is there: the
    segments job's refresh may have entered the customer while this chunk ran."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return dialect_insert(_members).on_conflict_do_nothing()
