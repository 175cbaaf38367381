"""Processing stored events, exactly once in effect.

A message carries a chunk of event ids. The worker claims them (``processed_at``
set only where it was still unset) and runs the pipeline over them in one
transaction; if anything fails, that transaction is rolled back and each event is
retried alone, so one bad event cannot hold the others back. A failure is recorded
on the event and the relay offers it again later.

Lock order, the same everywhere (ingest's stitching too): event rows, then
identities, then customers, each in sorted key order. Later issues add steps
(segments, journeys) with :func:`add_step`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from sqlalchemy import BigInteger, update
from sqlmodel import Session, col, select

from automation import array_updates, clock, metrics
from automation.config import get_settings
from automation.db import session_scope
from automation.models import Event
from automation.publish import publish_events, publish_messages
from automation.sql import among, retry_conflicts

log = logging.getLogger(__name__)
assert array_updates.MODELS  # imported for its flush listeners (PostgreSQL)
_events = Event.__table__  # type: ignore[attr-defined]

Step = Callable[[Session, Event], None]
Prepare = Callable[[Session, list[Event]], None]
PIPELINE: list[Step] = []
PREPARE: list[Prepare] = []
_REGISTERED: list[tuple[int, Step, Prepare | None]] = []
STEP_MODULES = (
    "automation.profile",
    "automation.preferences",
    "automation.segments.membership",
    "automation.attribution",
    "automation.journeys.engine",
)


def add_step(step: Step, prepare: Prepare | None = None, *, rank: int) -> Step:
    """Register a pipeline step. Steps run by ``rank``, low first, whatever the import
    order (profile 10, segments 30, journeys 50); ``prepare`` runs once per chunk
    first (to lock and load in bulk), in the same order."""
    if all(s is not step for _, s, _ in _REGISTERED):
        _REGISTERED.append((rank, step, prepare))
        _REGISTERED.sort(key=lambda entry: entry[0])
        PIPELINE[:] = [s for _, s, _ in _REGISTERED]
        PREPARE[:] = [p for _, _, p in _REGISTERED if p is not None]
    return step


def remove_step(step: Step) -> None:
    """Unregister a step (tests)."""
    _REGISTERED[:] = [entry for entry in _REGISTERED if entry[1] is not step]
    PIPELINE[:] = [s for _, s, _ in _REGISTERED]
    PREPARE[:] = [p for _, _, p in _REGISTERED if p is not None]


def load_steps() -> None:
    """Register the pipeline's steps, in their order (profile first, then journeys)."""
    for module in STEP_MODULES:
        importlib.import_module(module)


def process_events(event_pks: list[int]) -> int:
    """Process a chunk of events; returns how many took effect (re-deliveries count 0)."""
    load_steps()
    if len(event_pks) > 1:
        try:
            return retry_conflicts(lambda: _process(event_pks))
        except Exception as exc:
            log.info("chunk of %d failed (%s); processing one by one", len(event_pks), exc)
    done = 0
    for pk in event_pks:
        try:
            done += process_event(pk)
        except Exception:
            log.exception("event %s failed", pk)
    return done


def process_event(event_pk: int) -> bool:
    """Apply one event's effects; False if it was processed already (or given up on).

    A deadlock or serialization conflict is retried at once (a few times); any
    other error is recorded on the event and raised.
    """
    load_steps()
    try:
        return bool(retry_conflicts(lambda: _process([event_pk])))
    except Exception as exc:
        _record_failure(event_pk, exc)
        metrics.EVENTS_PROCESSED.labels("failed").inc()
        raise


def _process(event_pks: list[int]) -> int:
    with session_scope() as session:
        dialect = session.get_bind().dialect.name
        claimed = (
            session.connection()
            .execute(
                update(_events)
                .where(
                    among(dialect, _events.c.id, event_pks, BigInteger),
                    _events.c.processed_at.is_(None),
                    _events.c.attempts < get_settings().max_event_attempts,
                )
                .values(processed_at=clock.now(), attempts=_events.c.attempts + 1)
                .returning(_events.c.id)
            )
            .scalars()
            .all()
        )
        skipped = len(event_pks) - len(claimed)
        if skipped:
            metrics.EVENTS_PROCESSED.labels("skipped").inc(skipped)
        if not claimed:
            return 0
        events = list(
            session.exec(
                select(Event)
                .where(among(dialect, col(Event.id), claimed, BigInteger))
                .order_by(col(Event.occurred_at), col(Event.id))
            )
        )
        for prepare in PREPARE:
            prepare(session, events)
        for event in events:
            for step in PIPELINE:
                step(session, event)
        emitted = list(session.info.get("emitted", []))
        decided = list(session.info.get("messages", []))
    metrics.EVENTS_PROCESSED.labels("processed").inc(len(claimed))
    if emitted:  # events the steps stored (journeys' emit actions), now committed
        publish_events(emitted)
    if decided:  # messages the journeys decided, now committed: deliver them
        publish_messages(decided)
    return len(claimed)


def _record_failure(event_pk: int, exc: Exception) -> None:
    with session_scope() as session:
        session.connection().execute(
            update(_events)
            .where(_events.c.id == event_pk, _events.c.processed_at.is_(None))
            .values(
                attempts=_events.c.attempts + 1,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
            )
        )
