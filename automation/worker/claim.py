"""Claiming a chunk of events for processing: a message's own ids, then waiting others.

A claim sets ``processed_at`` (and counts the attempt) where it was still unset, in the
processing transaction: a re-delivered message finds its events taken and does nothing.

A message carries the events of one request (ten, say, from a busy site), but a chunk
costs about the same fixed work whatever its size (loading definitions, locking,
committing): at ten events a chunk the worker spent three times the CPU per event it
spends at a hundred. So on PostgreSQL a short chunk is filled with other events still
waiting, oldest first, up to :data:`~automation.broker.enqueue.CHUNK`; their own
messages, when they come, find them taken. Under a backlog the workers catch up in
full chunks; with no backlog there is nothing to fill with and chunks stay short.

Why filling adds no deadlock and holds nothing back:
- the message's own ids are claimed first and waited for (a row locked by ingest's
  stitching is claimed once ingest commits, not left to the relay); the fillers come
  after, with ``SKIP LOCKED``, so a claim never waits while holding fillers;
- an event that failed (``last_error``) is not a filler: one poison event would fail
  every chunk it joined, and is retried alone by the relay;
- the one-by-one fallback of a failed chunk does not fill: it isolates the bad event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Update

from automation.db.sql import ids_in
from automation.models import Event

_events = Event.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Claimed:
    """The ids this transaction took: the message's own, and the fillers."""

    own: list[int]
    fillers: list[int]

    @property
    def ids(self) -> list[int]:
        """Every id the chunk holds, its own first."""
        return self.own + self.fillers


def _claim(dialect: str) -> Update:
    return (
        update(_events)
        .where(
            ids_in(dialect, _events.c.id, "pks", BigInteger),
            _events.c.processed_at.is_(None),
            _events.c.attempts < bindparam("max_attempts"),
        )
        .values(processed_at=bindparam("now"), attempts=_events.c.attempts + 1)
        .returning(_events.c.id)
    )


_CLAIM = {name: _claim(name) for name in ("postgresql", "sqlite")}
# The oldest waiting events through the partial index of unprocessed ids; rows another
# transaction holds (a worker's claim, ingest's stitching) are skipped, not waited for.
_WAITING = (
    select(_events.c.id)
    .where(
        _events.c.processed_at.is_(None),
        _events.c.last_error.is_(None),
        _events.c.attempts < bindparam("max_attempts"),
    )
    .order_by(_events.c.id)
    .limit(bindparam("room"))
    .with_for_update(skip_locked=True)
)
_FILL = (
    update(_events)
    .where(_events.c.id.in_(_WAITING.scalar_subquery()))
    .values(processed_at=bindparam("now"), attempts=_events.c.attempts + 1)
    .returning(_events.c.id)
)


def claim(
    conn: Connection, event_pks: list[int], *, now: datetime, max_attempts: int, fill_to: int
) -> Claimed:
    """Take ``event_pks`` not yet processed; on PostgreSQL, then other waiting events
    until the chunk holds ``fill_to`` (0: no filling)."""
    dialect = conn.dialect.name
    params = {"pks": list(event_pks), "now": now, "max_attempts": max_attempts}
    own = list(conn.execute(_CLAIM[dialect], params).scalars())
    room = fill_to - len(own)
    if dialect != "postgresql" or room <= 0:
        return Claimed(own, [])
    fill = {"now": now, "max_attempts": max_attempts, "room": room}
    return Claimed(own, list(conn.execute(_FILL, fill).scalars()))
