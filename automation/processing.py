"""Processing one stored event, exactly once in effect.

The worker claims the event (``processed_at`` set only if it was still unset) and
runs the pipeline steps in the same transaction: if any step fails, nothing of
it is kept, the failure is recorded on the event, and the relay offers it again.
Later issues add steps (segments, journeys) with :func:`add_step`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from automation import clock, metrics
from automation.config import get_settings
from automation.db import session_scope
from automation.models import Event

log = logging.getLogger(__name__)
_events = Event.__table__  # type: ignore[attr-defined]

Step = Callable[[Session, Event], None]
PIPELINE: list[Step] = []
CONFLICT_RETRIES = 5


def add_step(step: Step) -> Step:
    """Register a pipeline step (usable as a decorator); steps run in registration order."""
    if step not in PIPELINE:
        PIPELINE.append(step)
    return step


def process_event(event_pk: int) -> bool:
    """Apply one event's effects; False if it was processed already (or gave up on).

    A deadlock or serialization conflict with a concurrent transaction is retried
    at once (a few times); any other error is recorded on the event and raised.
    """
    for attempt in range(CONFLICT_RETRIES):
        try:
            return _process_once(event_pk)
        except OperationalError as exc:
            if not _is_conflict(exc) or attempt == CONFLICT_RETRIES - 1:
                _fail(event_pk, exc)
                raise
            time.sleep(0.01 * (attempt + 1))
        except Exception as exc:
            _fail(event_pk, exc)
            raise
    raise AssertionError("unreachable")


def _process_once(event_pk: int) -> bool:
    with session_scope() as session:
        claimed = session.connection().execute(
            update(_events)
            .where(
                _events.c.id == event_pk,
                _events.c.processed_at.is_(None),
                _events.c.attempts < get_settings().max_event_attempts,
            )
            .values(processed_at=clock.now(), attempts=_events.c.attempts + 1)
        )
        if claimed.rowcount == 0:
            metrics.EVENTS_PROCESSED.labels("skipped").inc()
            return False
        event = session.get(Event, event_pk)
        assert event is not None
        for step in PIPELINE:
            step(session, event)
    metrics.EVENTS_PROCESSED.labels("processed").inc()
    return True


def _is_conflict(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)


def _fail(event_pk: int, exc: Exception) -> None:
    _record_failure(event_pk, exc)
    metrics.EVENTS_PROCESSED.labels("failed").inc()


def process_events(event_pks: list[int]) -> int:
    """Process several events, each in its own transaction; returns how many took effect.

    A failing event does not stop the others: its error and attempt count are on its
    row, and the relay offers it again after the grace period, up to
    ``max_event_attempts`` times (then it waits for a person: ``last_error`` says why).
    """
    done = 0
    for pk in event_pks:
        try:
            done += process_event(pk)
        except Exception:
            log.exception("event %s failed", pk)
    return done


def _record_failure(event_pk: int, exc: Exception) -> None:
    with session_scope() as session:
        session.connection().execute(
            update(_events)
            .where(_events.c.id == event_pk, _events.c.processed_at.is_(None))
            .values(
                attempts=_events.c.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
            )
        )
