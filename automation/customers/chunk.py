"""A chunk of events in its one transaction: what the pipeline's steps share.

The worker (``worker/process.py``) builds one :class:`Chunk` per chunk of claimed
events and one instance of each step over it; each step's ``__init__`` loads and
locks what it needs for the whole chunk at once, then ``apply`` runs per event, in
the order of ``worker.process.STEPS``. What one step leaves for another is a typed
field here, not a key in ``session.info``.

Events the steps emit, and the writes a step defers (``settlers``: the segments step's
memberships), are kept in order and written at :meth:`Chunk.settle`: when the worker
is done with the chunk, or before a condition reads the customer's history
(:attr:`Chunk.reader`, the session conditions get), so what a condition counts is
what it counted when each event wrote at once. A statement per emit was most of a
sign-up's statements (profiled: 3.2 a sign-up, now a few a chunk).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from sqlmodel import Session

from automation import clock
from automation.db.ids import Ids
from automation.events.schema import EventIn
from automation.events.store import insert_event_rows
from automation.models import Customer, Event, Identity
from automation.models.definitions import Stamp


@dataclass(eq=False)
class Chunk:
    """The claimed events, the rows their steps share, and what waits for the commit."""

    session: Session
    events: list[Event]
    # The definitions stamp the claim read with the events (``worker/claim.py``).
    stamp: int | None = None
    # The chunk's customers and visitors, locked by the profile step in key order. Kept
    # here also because the identity map holds rows weakly: a dropped row is queried
    # again by every ``session.get`` (2.45 → 0.66 ms per event, measured).
    customers: dict[str, Customer] = field(default_factory=dict)
    identities: dict[str, Identity] = field(default_factory=dict)
    # Conversion event id → attribution model → the message credited (attribution step;
    # the journey engine notes it on a converted enrollment).
    credited: dict[int, dict[str, int]] = field(default_factory=dict)
    # Events the steps stored, and messages the journeys decided: enqueued after commit.
    emitted: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    # (customer, type) of every event the chunk stored itself: counts read ahead of
    # them are stale (``segments/readahead.py``).
    stored: set[tuple[str | None, str]] = field(default_factory=set)
    ids: Ids = field(default_factory=Ids)
    # Emitted and not yet written, in order: an event, its source and when it was
    # emitted; or a deferred one a settler decides (None: not emitted after all).
    outbox: list[tuple[EventIn | Deferred, str, datetime]] = field(default_factory=list)
    # Run first at settle, in order: the writes the deferred events depend on.
    settlers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        """The database's dialect name (``sqlite``, ``postgresql``)."""
        return self.session.get_bind().dialect.name

    @cached_property
    def definitions(self) -> Stamp | None:
        """What is published, as a key: the database and its definitions stamp, as the
        claim read it (``models/definitions.py``). The steps keep per key what they
        read of journeys and segments; None (no stamp) keeps nothing."""
        return None if self.stamp is None else (str(self.session.get_bind().url), self.stamp)

    def customer(self, customer_id: str) -> Customer | None:
        """The customer as the chunk locked it (a dictionary look-up: ``session.get`` was
        3 µs a call, and every step asks), else loaded."""
        found = self.customers.get(customer_id)
        return found if found is not None else self.session.get(Customer, customer_id)

    def identity(self, visitor_id: str) -> Identity | None:
        """The visitor as the chunk locked it, else loaded."""
        found = self.identities.get(visitor_id)
        return found if found is not None else self.session.get(Identity, visitor_id)

    @property
    def reader(self) -> Reader:
        """The session as conditions should read it (``Facts.session``): history
        queries see what the chunk has deferred."""
        return Reader(self)

    def new_id(self, row: Any) -> bool:
        """Give a new ``row`` (an enrollment, a message) its id without a flush; False
        where the database cannot (SQLite: the caller flushes)."""
        taken = self.take_id(row.__tablename__)
        if taken is None:
            return False
        row.id = taken
        return True

    def take_id(self, table: str) -> int | None:
        """A new row id for ``table`` without a flush; None where the database cannot."""
        return self.ids.take(self.session.connection(), table)

    def emit(self, events: list[EventIn], source: str) -> None:
        """Store events in the chunk's transaction (they exist only if it commits; written
        at :meth:`settle`); the worker enqueues them after the commit, and the outbox
        relay covers a crash in between. A known ``event_id`` is skipped."""
        at = clock.now()
        self.outbox.extend((event, source, at) for event in events)

    def emit_later(self, event: Deferred, source: str) -> None:
        """An event a settler decides at :meth:`settle`, in its place among the others."""
        self.outbox.append((event, source, clock.now()))

    def settle(self) -> None:
        """Write what the steps deferred: the settlers' rows, then the emitted events in
        the order they were emitted (their ids follow that order), in one statement."""
        for settler in self.settlers:
            settler()
        if not self.outbox:
            return
        rows = []
        for event, source, at in self.outbox:
            found = event if isinstance(event, EventIn) else event.event()
            if found is not None:
                rows.append((found, source, at))
                self.stored.add((found.customer_id, found.type))
        self.outbox = []
        if rows:
            self.emitted.extend(insert_event_rows(self.session.connection(), rows))


class Deferred(Protocol):
    """An emitted event that exists only if the write it reports on took effect."""

    def event(self) -> EventIn | None:
        """The event to store, or None."""
        ...


class Reader:
    """The chunk's session for conditions: a history query (``scalar``) first settles
    the chunk, as the ORM flushes before a query; the rest is the session's."""

    def __init__(self, chunk: Chunk) -> None:
        self._chunk = chunk

    def scalar(self, *args: Any, **kwargs: Any) -> Any:
        self._chunk.settle()
        return self._chunk.session.scalar(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chunk.session, name)


class Step(Protocol):
    """A pipeline step: built once per chunk (loading in bulk), applied per event."""

    def __init__(self, chunk: Chunk) -> None: ...

    def apply(self, event: Event) -> None:
        """What ``event`` changes, in the chunk's transaction."""
        ...
