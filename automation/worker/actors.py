"""Dramatiq actors: thin. Load, call the domain, let the domain commit.

Importing this module builds the broker from settings, so ``dramatiq worker``
(see ``worker.py``) gets the right one before any actor is declared, and sets the
worker's garbage-collector threshold (``worker/gc.py``). Producers address these
actors by name (``broker/enqueue.py``) and need not import them.
"""

from __future__ import annotations

import dramatiq
from dramatiq import Broker

from automation.broker import get_broker, set_broker
from automation.broker.enqueue import (
    DELIVER_MESSAGES,
    EVENTS_QUEUE,
    MESSAGES_QUEUE,
    PROCESS_EVENTS,
)
from automation.delivery.deliver import deliver_many
from automation.worker import process
from automation.worker.gc import tune_gc

get_broker()
tune_gc()


# Failures are recorded per event and retried by the relay, not by re-running the
# whole message (which would hold the other events of the chunk hostage).
@dramatiq.actor(actor_name=PROCESS_EVENTS, queue_name=EVENTS_QUEUE, max_retries=0)
def process_events(event_pks: list[int]) -> None:
    """Process stored events by id; already-processed ones are skipped."""
    process.process_events(event_pks)


# The ledger retries transient failures itself (deferred with a time, offered again by
# the relay), so a crashed actor message is never re-run blindly.
@dramatiq.actor(actor_name=DELIVER_MESSAGES, queue_name=MESSAGES_QUEUE, max_retries=0)
def deliver_messages(message_ids: list[int]) -> None:
    """Deliver messages by id; those not waiting (sent, claimed elsewhere) are skipped."""
    deliver_many(message_ids)


ALL = [process_events, deliver_messages]


def use_broker(broker: Broker) -> Broker:
    """Make ``broker`` the process's broker and declare every actor on it (tests, drain,
    the demo)."""
    set_broker(broker)
    for actor in ALL:
        actor.broker = broker
        broker.declare_actor(actor)
    return broker
