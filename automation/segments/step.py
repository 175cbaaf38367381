"""The segments step: the event's customer re-checked, in Python, against the segments
the event can change (``membership.concerns``): those that count events of its type,
or read customer fields or policies the profile step just changed. An entry or exit
is a ``segment_members`` row, a ``segment_changes`` row and a
``segment_entered``/``segment_exited`` event, stored in the chunk's transaction when
the chunk settles (``moves.py``; a condition naming a segment settles it first)."""

from __future__ import annotations

from automation import clock
from automation.conditions import Condition, Facts
from automation.customers.chunk import Chunk
from automation.models import Event
from automation.segments import moves, registry
from automation.segments.membership import concerns
from automation.segments.readahead import ReadAhead


class SegmentStep:
    """Built once per chunk: the segments (a handful of rows), and the memberships and
    history counts of the chunk's customers, read at the first event that needs them.
    Every event of the chunk is checked as of the chunk's start (``now``), the moment
    those counts were read for."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.segments: list[tuple[str, Condition]] = registry.conditions(
            chunk.session, chunk.definitions
        )
        # Customer → the segments they are in, kept as this step changes them: a query
        # (and the autoflush before it) per event was most of this step's time.
        self.members: dict[str, set[str]] | None = None
        self.now = clock.now()
        types = {event.type for event in chunk.events}
        counts = [
            node
            for _, cond in self.segments
            if any(concerns(cond, kind) for kind in types)
            for node in cond.event_counts()
        ]
        self.ahead = ReadAhead(chunk, counts, self.now)
        self.moves: list[moves.Move] = []  # decided, written when the chunk settles
        chunk.settlers.append(self._write)

    def _write(self) -> None:
        if self.moves:
            done, self.moves = self.moves, []
            moves.write(self.chunk.session.connection(), done)

    def _current(self, customer_id: str) -> set[str]:
        if self.members is None:
            customers = sorted({e.customer_id for e in self.chunk.events if e.customer_id})
            self.members = self.ahead.memberships(customers)
        if customer_id not in self.members:
            self.members |= self.ahead.memberships([customer_id])
        return self.members[customer_id]

    def apply(self, event: Event) -> None:
        """Re-check the event's customer against the segments it can change."""
        if not event.customer_id:
            return
        wanted = [
            (segment_id, cond)
            for segment_id, cond in self.segments
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
        now = self.now
        facts = Facts(customer=customer, now=now, session=self.chunk.reader, counts=self.ahead)
        current = self._current(customer.customer_id)
        for segment_id, cond in wanted:
            inside = cond.matches(facts)
            if inside == (segment_id in current):
                continue
            # Kept here at once, since a later segment may name an earlier one (its
            # condition's query settles the chunk, so the rows are there too).
            if inside:
                current.add(segment_id)
            else:
                current.discard(segment_id)
            move = moves.Move(segment_id, customer.customer_id, inside, now, event.id)  # type: ignore[arg-type]
            self.moves.append(move)
            self.chunk.emit_later(move, "segments")
