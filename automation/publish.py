"""Handing stored event ids to the broker, in chunks; a broker outage is logged, not raised.

The events table is the outbox: whatever fails to publish here is published by
the relay later, so ingest never loses an event to a broker outage.
"""

from __future__ import annotations

import logging

from automation.sql import chunks

log = logging.getLogger(__name__)
CHUNK = 100
MESSAGE_CHUNK = 20  # a delivery takes a network round trip each: small batches spread


def publish_events(event_pks: list[int]) -> bool:
    """Send ``process_events`` messages for these ids; False if the broker refused."""
    from automation.actors import process_events

    try:
        for part in chunks(event_pks, CHUNK):
            process_events.send(part)
    except Exception as exc:  # any broker error: the relay will publish them
        log.warning("broker unavailable, %d events left to the relay: %s", len(event_pks), exc)
        return False
    return True


def publish_messages(message_ids: list[int]) -> bool:
    """Send ``deliver_messages`` for these message ids; False if the broker refused.

    The messages table is the outbox for deliveries as the events table is for
    events: the relay offers again what was not delivered.
    """
    from automation.actors import deliver_messages

    try:
        for part in chunks(message_ids, MESSAGE_CHUNK):
            deliver_messages.send(part)
    except Exception as exc:
        log.warning("broker unavailable, %d messages left to the relay: %s", len(message_ids), exc)
        return False
    return True
