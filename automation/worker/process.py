"""Processing stored events, exactly once in effect: the pipeline.

A message carries a chunk of event ids. The worker claims them (``processed_at``
set only where it was still unset) and runs the pipeline over them in one
transaction; if anything fails, that transaction is rolled back and each event is
retried alone, so one bad event cannot hold the others back. A failure is recorded
on the event and the relay offers it again later.

The pipeline is :data:`STEPS`, in order: each step is built once per chunk over a
shared :class:`~automation.customers.chunk.Chunk` (loading and locking in bulk), then
applied to each event. Lock order, the same everywhere (ingest's stitching too): event
rows, then identities, then customers (the profile step), then enrollments (the
journey step), each in sorted key order.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from automation import clock, metrics
from automation.broker import enqueue_events, enqueue_messages
from automation.broker.enqueue import CHUNK
from automation.config import get_settings
from automation.customers.attribution import AttributionStep
from automation.customers.chunk import Chunk, Step
from automation.customers.preferences import PreferenceStep
from automation.customers.profile import ProfileStep
from automation.db import session_scope
from automation.db.sql import retry_conflicts
from automation.journeys import journal
from automation.journeys.engine import JourneyStep
from automation.models import Event, array_updates
from automation.personalize.credit import OfferCreditStep
from automation.segments.step import SegmentStep
from automation.worker.claim import claim

log = logging.getLogger(__name__)
RECONNECT_PAUSE = 0.2  # seconds before trying a lost connection's work on a new one
_events = Event.__table__  # type: ignore[attr-defined]
# Flush-time writers of the pipeline's rows (PostgreSQL): changed customers and
# enrollments as array UPDATEs, transitions and timers as array INSERTs at commit.
array_updates.install()
journal.install()

STEPS: tuple[type[Step], ...] = (
    ProfileStep,  # visits, activity, lifecycle ladder, policies, suppression flags
    PreferenceStep,  # preferences, channel responsiveness, prospect score
    SegmentStep,  # segments this event can change → segment_entered / segment_exited
    AttributionStep,  # conversions credited to the messages that led there
    OfferCreditStep,  # sign-ups and purchases credited to the offer clicked before them
    JourneyStep,  # goals, exits, state rules, due timers → transitions, messages, timers
)


def process_events(event_pks: list[int]) -> int:
    """Process a message's events, and on PostgreSQL other waiting ones to fill the chunk
    (``worker/claim.py``); returns how many took effect (re-deliveries count 0)."""
    fillers: list[int] = []
    try:
        return _retrying(event_pks, fillers)
    except Exception as exc:
        log.info("chunk of %d failed (%s); processing one by one", len(event_pks), exc)
    done = 0
    # The fillers too: one of them may be the bad event, and alone it is recorded as
    # failed, so it fills no other chunk.
    for pk in dict.fromkeys(event_pks + fillers):
        try:
            done += process_event(pk)
        except Exception:
            log.exception("event %s failed", pk)
    return done


def process_event(event_pk: int) -> bool:
    """Apply one event's effects, alone; False if it was processed already (or given up).

    A deadlock or serialization conflict is retried at once (a few times), a lost
    database connection once; any other error is recorded on the event and raised.
    """
    try:
        return bool(_retrying([event_pk], None))
    except Exception as exc:
        _record_failure(event_pk, exc)
        metrics.EVENTS_PROCESSED.labels("failed").inc()
        raise


def _retrying(event_pks: list[int], fillers: list[int] | None) -> int:
    """:func:`_process`, its conflicts retried, and once more on a new connection when the
    database dropped ours (a restart, a fail-over, ``pg_terminate_backend``): else the
    whole chunk waited for the relay. Running it again is safe whatever became of the
    first transaction: the claim takes only events not yet processed."""
    try:
        return retry_conflicts(lambda: _process(event_pks, fillers))
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.info("database connection lost (%s); once more on a new one", type(exc.orig).__name__)
        time.sleep(RECONNECT_PAUSE)
        return retry_conflicts(lambda: _process(event_pks, fillers))


def _process(event_pks: list[int], fillers: list[int] | None) -> int:
    """Claim and process one chunk in one transaction; ``fillers`` (None: fill nothing)
    is given the other events the chunk took, for the caller's one-by-one fallback.

    Its commit does not wait for the disk (``db.mark_redoable``): a chunk a crash
    undoes leaves its events unprocessed, for the relay to offer again."""
    with session_scope(redoable=True) as session:
        claimed = claim(
            session,
            event_pks,
            now=clock.now(),
            max_attempts=get_settings().max_event_attempts,
            fill_to=0 if fillers is None else CHUNK,
        )
        if fillers is not None:
            fillers[:] = [event.id for event in claimed.fillers]  # type: ignore[misc]
        if skipped := len(event_pks) - len(claimed.own):
            metrics.EVENTS_PROCESSED.labels("skipped").inc(skipped)
        if not (events := claimed.events):
            return 0
        chunk = Chunk(session, events, claimed.stamp)
        steps = [step(chunk) for step in STEPS]
        for event in events:
            for step in steps:
                step.apply(event)
        chunk.settle()  # the rows and events the steps deferred, before the commit
    metrics.EVENTS_PROCESSED.labels("processed").inc(len(events))
    if chunk.emitted:  # events the steps stored (segments, journeys' emit), now committed
        enqueue_events(chunk.emitted)
    if chunk.messages:  # messages the journeys decided, now committed: deliver them
        enqueue_messages(chunk.messages)
    return len(events)


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
