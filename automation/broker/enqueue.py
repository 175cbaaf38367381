"""Handing stored ids to the broker, in chunks; a broker outage is logged, not raised.

The events table is the outbox: whatever fails to reach the broker here is offered
again by the outbox relay (``events/outbox.py``), so ingest never loses an event to
a broker outage; the messages table is the outbox of deliveries likewise
(``delivery/backlog.py``). Messages are addressed to the actors by name, so sending
needs no actor code: the worker (``worker/actors.py``) declares the actors of these
names.
"""

from __future__ import annotations

import logging

from dramatiq import Message

from automation.broker.build import get_broker
from automation.db.sql import chunks

log = logging.getLogger(__name__)
CHUNK = 100
MESSAGE_CHUNK = 20  # a delivery takes a network round trip each: small batches spread
EVENTS_QUEUE, PROCESS_EVENTS = "events", "process_events"
MESSAGES_QUEUE, DELIVER_MESSAGES = "messages", "deliver_messages"


def enqueue_events(event_pks: list[int]) -> bool:
    """Send ``process_events`` messages for these ids; False if the broker refused."""
    try:
        _send(EVENTS_QUEUE, PROCESS_EVENTS, event_pks, CHUNK)
    except Exception as exc:  # any broker error: the relay will offer them again
        log.warning("broker unavailable, %d events left to the relay: %s", len(event_pks), exc)
        return False
    return True


def enqueue_messages(message_ids: list[int]) -> bool:
    """Send ``deliver_messages`` for these message ids; False if the broker refused."""
    try:
        _send(MESSAGES_QUEUE, DELIVER_MESSAGES, message_ids, MESSAGE_CHUNK)
    except Exception as exc:
        log.warning("broker unavailable, %d messages left to the relay: %s", len(message_ids), exc)
        return False
    return True


def _send(queue: str, actor: str, ids: list[int], size: int) -> None:
    broker = get_broker()
    broker.declare_queue(queue)  # a no-op once declared; a process may enqueue before any actor
    for part in chunks(ids, size):
        # What ``actor.send(part)`` builds, without needing the actor in this process.
        broker.enqueue(
            Message(queue_name=queue, actor_name=actor, args=(part,), kwargs={}, options={})
        )
