"""What the segments step reads of a chunk's customers, in one round trip: the segments
each one is in, and the ``events:`` counts its conditions make (``Facts.counts``).

A count per event was a round trip per product or content view (and the autoflush
before it): most of the segments step on a demo worker. A count read ahead is the one
the condition would have made, at the same ``now``: the chunk's own events were
stored before it was claimed, and where the chunk has since stored an event of a
counted type for that customer (``Chunk.stored``) the database is asked instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, cast, func, literal, null, select, union_all
from sqlalchemy.sql import Executable

from automation.conditions.nodes import EventCount
from automation.conditions.tables import EVENTS
from automation.customers.chunk import Chunk
from automation.db.sql import among
from automation.models import SegmentMember

_members = SegmentMember.__table__  # type: ignore[attr-defined]
MEMBERSHIP = -1  # a row's kind: a membership; otherwise the index of a count


class ReadAhead:
    """Memberships and history counts of the chunk's customers, as of ``now``."""

    def __init__(self, chunk: Chunk, nodes: list[EventCount], now: datetime) -> None:
        self.chunk, self.now = chunk, now
        self.nodes = list({id(node): node for node in nodes}.values())
        self._index = {id(node): k for k, node in enumerate(self.nodes)}
        self._counts: dict[tuple[int, str], int] = {}
        self._read: set[str] = set()  # customers whose counts were read

    def memberships(self, customer_ids: list[str]) -> dict[str, set[str]]:
        """Customer → the segments they are in; their counts are read in the same
        statement."""
        found: dict[str, set[str]] = {c: set() for c in customer_ids}
        for kind, customer_id, segment_id, n in self.chunk.session.connection().execute(
            self._query(customer_ids)
        ):
            if kind == MEMBERSHIP:
                found[customer_id].add(segment_id)
            else:
                self._counts[kind, customer_id] = n
        self._read.update(customer_ids)
        return found

    def _query(self, customer_ids: list[str]) -> Executable:
        dialect = self.chunk.dialect
        m, e = _members.c, EVENTS.c
        parts = [
            select(
                literal(MEMBERSHIP, Integer), m.customer_id, m.segment_id, cast(null(), Integer)
            ).where(among(dialect, m.customer_id, customer_ids))
        ]
        for k, node in enumerate(self.nodes):
            parts.append(
                select(literal(k, Integer), e.customer_id, cast(null(), String), func.count())
                .where(among(dialect, e.customer_id, customer_ids), *node.filters(self.now))
                .group_by(e.customer_id)
            )
        return parts[0] if len(parts) == 1 else union_all(*parts)

    def get(self, node: object, customer_id: str, now: datetime) -> int | None:
        """The count read ahead, or None: the condition asks the database."""
        k = self._index.get(id(node))
        if k is None or now != self.now or customer_id not in self._read:
            return None
        # What the chunk deferred is written first, as before a history query, so that
        # the events it emitted are known.
        self.chunk.settle()
        stored = self.chunk.stored
        if any((customer_id, kind) in stored for kind in self.nodes[k].types):
            return None
        return self._counts.get((k, customer_id), 0)
