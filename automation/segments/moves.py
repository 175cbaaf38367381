"""A chunk's segment entries and exits, written together when the chunk settles.

The segments step (``step.py``) decides a move per event and keeps its own view of
each customer's memberships up to date; the rows follow at ``Chunk.settle`` (before a
condition reads memberships, and at the end of the chunk): on PostgreSQL one
statement for the entries and one for the exits, then the history rows in one, where
each move had been a statement of its own (with its history and events two more).

A move takes effect only if the row changed: a refresh running beside the worker may
have made the same move first (``ON CONFLICT DO NOTHING`` / a DELETE that finds no
row, told by ``RETURNING``); such a move writes no history and emits no event, as
before. Moves of the same membership within one chunk go in rounds, the first move
of each membership in the first round, so the database sees them in their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from automation.db.sql import column_arrays, insert_rows
from automation.events.catalog import segment_changed
from automation.events.schema import EventIn
from automation.models import SegmentChange, SegmentMember

_members = SegmentMember.__table__  # type: ignore[attr-defined]
_changes = SegmentChange.__table__  # type: ignore[attr-defined]
_KEYS = [_members.c.segment_id, _members.c.customer_id]
_ENTER = (
    "INSERT INTO segment_members (segment_id, customer_id, entered_at) "
    "SELECT * FROM unnest(%(segment_id)b::varchar[], %(customer_id)b::varchar[], "
    "%(entered_at)b::timestamptz[]) "
    "ON CONFLICT DO NOTHING RETURNING segment_id, customer_id"
)
_EXIT = (
    "DELETE FROM segment_members AS m "
    "USING unnest(%(segment_id)b::varchar[], %(customer_id)b::varchar[]) AS v(s, c) "
    "WHERE m.segment_id = v.s AND m.customer_id = v.c RETURNING m.segment_id, m.customer_id"
)


@dataclass(slots=True, eq=False)
class Move:
    """A customer entering or leaving a segment because of an event."""

    segment_id: str
    customer_id: str
    entered: bool
    at: datetime
    event_id: int  # the cause
    took: bool = False  # the row changed (known once written)

    def event(self) -> EventIn | None:
        """``segment_entered``/``segment_exited``, if the move took effect."""
        if not self.took:
            return None
        tag = f"e{self.event_id}"
        return segment_changed(self.segment_id, self.customer_id, self.entered, self.at, tag)


def write(conn: Connection, moves: list[Move]) -> None:
    """Write ``moves`` (in their order per membership), mark those that took effect,
    and record their history rows."""
    for batch in _rounds(moves):
        if conn.dialect.name == "postgresql":
            _write_arrays(conn, batch)
        else:
            for move in batch:  # SQLite: in process, a statement costs no round trip
                _write_one(conn, move)
    history = [
        {
            "segment_id": m.segment_id,
            "customer_id": m.customer_id,
            "entered": m.entered,
            "at": m.at,
            "cause": "event",
            "event_id": m.event_id,
        }
        for m in moves
        if m.took
    ]
    if history:
        insert_rows(conn, _changes, history)


def _rounds(moves: list[Move]) -> list[list[Move]]:
    """The moves as rounds: the n-th move of each membership in round n."""
    rounds: list[list[Move]] = []
    seen: dict[tuple[str, str], int] = {}
    for move in moves:
        key = (move.segment_id, move.customer_id)
        n = seen[key] = seen.get(key, -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(move)
    return rounds


def _write_arrays(conn: Connection, batch: list[Move]) -> None:
    for entered, query in ((True, _ENTER), (False, _EXIT)):
        # Key order, as a refresh and the other workers lock these rows.
        chosen = sorted(
            (m for m in batch if m.entered == entered), key=lambda m: (m.segment_id, m.customer_id)
        )
        if not chosen:
            continue
        rows: list[dict[str, Any]] = [
            {"segment_id": m.segment_id, "customer_id": m.customer_id, "entered_at": m.at}
            for m in chosen
        ]
        columns = [*_KEYS, _members.c.entered_at] if entered else _KEYS
        # Through SQLAlchemy's cursor events (a test races a refresh against it there).
        found = conn.exec_driver_sql(query, column_arrays(columns, rows, conn.dialect))
        done = {(segment, customer) for segment, customer in found}
        for move in chosen:
            move.took = (move.segment_id, move.customer_id) in done


def _write_one(conn: Connection, move: Move) -> None:
    keys = {"segment_id": move.segment_id, "customer_id": move.customer_id}
    if move.entered:
        query: Any = (
            sqlite_insert(_members).on_conflict_do_nothing().values(**keys, entered_at=move.at)
        )
    else:
        query = delete(_members).where(
            _members.c.segment_id == move.segment_id, _members.c.customer_id == move.customer_id
        )
    # RETURNING, not rowcount: it says whether this statement changed the row.
    move.took = conn.execute(query.returning(_members.c.customer_id)).first() is not None
