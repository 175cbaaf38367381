"""Dramatiq actors: thin. Load, call the domain, let the domain commit.

Importing this module builds the broker from settings, so ``dramatiq worker``
(see ``worker.py``) gets the right one before any actor is declared, and sets the
worker's garbage-collector threshold (``gc_tuning``).
"""

from __future__ import annotations

import dramatiq

from automation import processing
from automation.broker import get_broker
from automation.gc_tuning import tune_gc

get_broker()
processing.load_steps()
tune_gc()


# Failures are recorded per event and retried by the relay, not by re-running the
# whole message (which would hold the other events of the chunk hostage).
@dramatiq.actor(queue_name="events", max_retries=0)
def process_events(event_pks: list[int]) -> None:
    """Process stored events by id; already-processed ones are skipped."""
    processing.process_events(event_pks)


# The ledger retries transient failures itself (deferred with a time, offered again by
# the relay), so a crashed actor message is never re-run blindly.
@dramatiq.actor(queue_name="messages", max_retries=0)
def deliver_messages(message_ids: list[int]) -> None:
    """Deliver messages by id; those not waiting (sent, claimed elsewhere) are skipped."""
    from automation.delivery.deliver import deliver_many

    deliver_many(message_ids)


ALL = [process_events, deliver_messages]
