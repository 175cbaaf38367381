"""Ingest: the only way in. Validate, deduplicate, resolve identity, store, publish.

The API, tracking routes, imports, provider callbacks and the scheduler all call
:func:`ingest`. An event is committed before its id goes to the broker; if the
broker is down, the relay publishes it later (the events table is the outbox).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from automation import clock, metrics
from automation.broker import enqueue_events
from automation.db import get_engine
from automation.db.sql import retry_conflicts
from automation.events import identity
from automation.events.schema import EventIn, validate_event
from automation.events.store import insert_events

log = logging.getLogger(__name__)

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"


@dataclass(slots=True)
class EventResult:
    """What became of one event of a batch."""

    index: int
    status: str
    event_id: str | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.event_id is not None:
            out["event_id"] = self.event_id
        if self.errors:
            out["errors"] = self.errors
        return out


@dataclass(slots=True)
class IngestResult:
    """The per-event results of one batch, and the database ids of what was stored."""

    results: list[EventResult]
    stored_ids: list[int] = field(default_factory=list)
    stitched: int = 0  # visitors linked to a customer by this batch

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def rejected(self) -> int:
        return self.count(REJECTED)

    def summary(self) -> dict[str, Any]:
        return {
            "accepted": self.count(ACCEPTED),
            "duplicates": self.count(DUPLICATE),
            "rejected": self.rejected,
            "results": [r.as_dict() for r in self.results],
        }


def ingest(raw_events: list[Any], *, source: str = "api", publish: bool = True) -> IngestResult:
    """Validate and store a batch of events, then hand the stored ones to the broker.

    Parameters:
      raw_events: decoded JSON objects in the event format, or events the system built
        itself (:mod:`automation.events.catalog`), which are taken as valid.
      source: where they came from (``api``, ``import``, ``scheduler``, ``tracking``…).
      publish: send stored ids to the broker now (the relay does it otherwise).

    Returns:
      An :class:`IngestResult` with one result per event, in order. Valid events are
      stored even when others in the batch are rejected; a repeat ``event_id`` is a
      duplicate, stored once, and changes nothing (a resent login stitches nothing).
    """
    # A plain datetime: pendulum's arithmetic is too slow for a per-event comparison.
    now = datetime.fromtimestamp(clock.now().timestamp(), UTC)
    results: list[EventResult] = []
    valid: list[tuple[int, EventIn]] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_events):
        checked = raw if isinstance(raw, EventIn) else validate_event(raw, now)
        if isinstance(checked, list):
            results.append(EventResult(i, REJECTED, _raw_id(raw), checked))
        elif checked.event_id in seen:
            results.append(EventResult(i, DUPLICATE, checked.event_id))
        else:
            seen.add(checked.event_id)
            results.append(EventResult(i, ACCEPTED, checked.event_id))
            valid.append((i, checked))
    outcome = IngestResult(results)
    if valid:
        given = [ev.customer_id for _, ev in valid]
        retry_conflicts(lambda: _store(valid, given, outcome, now, source))
    for status in (ACCEPTED, DUPLICATE, REJECTED):
        if n := outcome.count(status):
            metrics.EVENTS_INGESTED.labels(source, status).inc(n)
    if publish and outcome.stored_ids:
        enqueue_events(outcome.stored_ids)
    return outcome


def announce(source: str, offered: int, stored: list[int]) -> None:
    """After the commit of a transaction that stored system events itself
    (``store.insert_events``: delivery's ``email_sent``, the timers job's ``timer_due``):
    count them as :func:`ingest` does (an id stored before is a duplicate) and hand
    the stored ones to the broker."""
    metrics.EVENTS_INGESTED.labels(source, ACCEPTED).inc(len(stored))
    if duplicates := offered - len(stored):
        metrics.EVENTS_INGESTED.labels(source, DUPLICATE).inc(duplicates)
    if stored:
        enqueue_events(stored)


def _store(
    valid: list[tuple[int, EventIn]],
    given: list[str | None],
    outcome: IngestResult,
    now: datetime,
    source: str,
) -> None:
    # One transaction: identities, events and stitching commit together or not at all.
    # Retried whole on a deadlock, so its effects on ``outcome`` are set only at the end
    # and each attempt starts from the customer ids the events came with.
    with get_engine().begin() as conn:
        events = [ev for _, ev in valid]
        for ev, customer_id in zip(events, given, strict=True):
            ev.customer_id = customer_id
        known = identity.resolve(events, conn)
        stored = insert_events(conn, events, now, source)
        stitched = identity.stitch(conn, events, stored, known, now)
    outcome.stored_ids = []
    for index, ev in valid:
        pk = stored.get(ev.event_id)
        if pk is None:
            outcome.results[index].status = DUPLICATE
        else:
            outcome.stored_ids.append(pk)
    outcome.stitched = stitched


def _raw_id(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("event_id"), str):
        return str(raw["event_id"])[:200]
    return None
