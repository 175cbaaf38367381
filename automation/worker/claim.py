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

With no backlog the fill found nothing and still cost a round trip a chunk (a tenth of
a one-event chunk's statements). So the claim's ``RETURNING`` also says whether any
other event is waiting (not failed, not the message's own, in the claim's snapshot),
and the fill runs only then. Events other workers are claiming still count as waiting
there, so under load the fill runs as before: the flag only spares an idle engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, column, exists, select, update
from sqlalchemy.sql import Update
from sqlalchemy.sql.selectable import ExecutableReturnsRows
from sqlmodel import Session

from automation.db.sql import ids_in
from automation.models import DefinitionsStamp, Event

_events = Event.__table__  # type: ignore[attr-defined]
_stamps = DefinitionsStamp.__table__  # type: ignore[attr-defined]
# The definitions stamp (``models/definitions.py``) in every row the claim returns: the
# chunk needs it, and reading it on its own was one more round trip per chunk.
_STAMP = select(_stamps.c.stamp).scalar_subquery().label("definitions_stamp")


def _waiting(events: Any) -> tuple[Any, ...]:
    """An event of ``events`` (the table or an alias) still to process: not processed,
    not failed, attempts left."""
    c = events.c
    return (
        c.processed_at.is_(None),
        c.last_error.is_(None),
        c.attempts < bindparam("max_attempts"),
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """The events this transaction took: the message's own, and the fillers."""

    own: list[Event]
    fillers: list[Event]
    stamp: int | None  # the definitions stamp as the claim read it; None: no row, or none taken

    @property
    def events(self) -> list[Event]:
        """Every event the chunk holds, in the order they happened."""
        return sorted(self.own + self.fillers, key=lambda e: (e.occurred_at, e.id))


def _rows(claiming: Update, *extra: Any) -> ExecutableReturnsRows:
    """The claimed events as ORM rows, and the definitions stamp, from the claim's own
    ``RETURNING``: no second round trip to load them."""
    stamp = column("definitions_stamp", BigInteger)
    more = [column(c.name, c.type) for c in extra]
    return select(Event, stamp, *more).from_statement(
        claiming.returning(*_events.c, _STAMP, *extra)
    )


def _claim(dialect: str) -> ExecutableReturnsRows:
    own = ids_in(dialect, _events.c.id, "pks", BigInteger)
    claiming = (
        update(_events)
        .where(
            own, _events.c.processed_at.is_(None), _events.c.attempts < bindparam("max_attempts")
        )
        .values(processed_at=bindparam("now"), attempts=_events.c.attempts + 1)
    )
    if dialect != "postgresql":
        return _rows(claiming)  # no filling there
    # An alias: the bare table would be correlated to the row being updated.
    other = _events.alias("other")
    others = exists().where(~ids_in(dialect, other.c.id, "pks", BigInteger), *_waiting(other))
    return _rows(claiming, others.label("others_waiting"))


_CLAIM = {name: _claim(name) for name in ("postgresql", "sqlite")}
# The oldest waiting events through the partial index of unprocessed ids; rows another
# transaction holds (a worker's claim, ingest's stitching) are skipped, not waited for.
_WAITING = (
    select(_events.c.id)
    .where(*_waiting(_events))
    .order_by(_events.c.id)
    .limit(bindparam("room"))
    .with_for_update(skip_locked=True)
)
_FILL = _rows(
    update(_events)
    .where(_events.c.id.in_(_WAITING.scalar_subquery()))
    .values(processed_at=bindparam("now"), attempts=_events.c.attempts + 1)
)


def claim(
    session: Session, event_pks: list[int], *, now: datetime, max_attempts: int, fill_to: int
) -> Claimed:
    """Take ``event_pks`` not yet processed; on PostgreSQL, then other waiting events
    until the chunk holds ``fill_to`` (0: no filling)."""
    dialect = session.get_bind().dialect.name
    params = {"pks": list(event_pks), "now": now, "max_attempts": max_attempts}
    own = session.exec(_CLAIM[dialect], params=params).all()  # type: ignore[call-overload]
    room = fill_to - len(own)
    fillers = []
    # The claim's rows say whether others wait; with none of its own taken (a
    # re-delivery) there is no row to say it, and it fills as before.
    if dialect == "postgresql" and room > 0 and (not own or own[0][2]):
        fill = {"now": now, "max_attempts": max_attempts, "room": room}
        fillers = session.exec(_FILL, params=fill).all()  # type: ignore[call-overload]
    stamp = next((row[1] for row in (*own, *fillers)), None)
    return Claimed([row[0] for row in own], [row[0] for row in fillers], stamp)
