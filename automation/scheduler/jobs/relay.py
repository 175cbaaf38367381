"""The relay job: what was stored but not acted on is offered again.

Events stored but not processed (a broker that was down, a worker that died) are
re-published after ``RELAY_GRACE_SECONDS``; so are messages whose actor message was
lost, deferred messages whose time has come (after the contact policy is checked
again, by the delivery itself), and messages left ``sending`` by a dead worker are
resolved by their channel's rule (``automation/delivery/ledger.py``).
"""

from __future__ import annotations

from datetime import datetime

from automation.delivery.backlog import relay_messages
from automation.events import outbox


def run_relay(now: datetime) -> int:
    """Re-publish stale events and waiting messages; returns how many were offered."""
    return outbox.relay() + relay_messages(now)
