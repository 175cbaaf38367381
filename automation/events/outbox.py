"""The relay: re-publish events that were stored but never processed.

Covers a broker that was down at ingest, a worker that died, and a CLI process
(``drain``) whose in-process stub broker starts empty. Each event is re-published
at most once per grace period, so a long backlog is not multiplied.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from automation import clock, metrics
from automation.broker import enqueue_events
from automation.config import get_settings
from automation.db import get_engine
from automation.models import Event

_events = Event.__table__  # type: ignore[attr-defined]
BATCH = 5000


def pending_events(grace_seconds: int, limit: int = BATCH, after_pk: int = 0) -> list[int]:
    """Ids of stored, unprocessed events last published more than ``grace_seconds`` ago."""
    cutoff = clock.now() - timedelta(seconds=grace_seconds)
    query = (
        select(_events.c.id)
        .where(
            _events.c.processed_at.is_(None),
            _events.c.id > after_pk,
            _events.c.attempts < get_settings().max_event_attempts,
            func.coalesce(_events.c.published_at, _events.c.received_at) <= cutoff,
        )
        .order_by(_events.c.id)
        .limit(limit)
    )
    with get_engine().connect() as conn:
        return list(conn.execute(query).scalars())


def relay(grace_seconds: int | None = None) -> int:
    """Publish every stale unprocessed event once; returns how many were published."""
    grace = get_settings().relay_grace_seconds if grace_seconds is None else grace_seconds
    total, after = 0, 0
    while ids := pending_events(grace, after_pk=after):
        if not enqueue_events(ids):
            break
        with get_engine().begin() as conn:
            conn.execute(
                update(_events).where(_events.c.id.in_(ids)).values(published_at=clock.now())
            )
        total += len(ids)
        after = ids[-1]
    metrics.EVENTS_RELAYED.inc(total)
    return total


def unprocessed_count() -> int:
    """Events stored but not processed, that will still be tried."""
    query = select(func.count()).where(
        _events.c.processed_at.is_(None), _events.c.attempts < get_settings().max_event_attempts
    )
    with get_engine().connect() as conn:
        return int(conn.execute(query).scalar_one())
