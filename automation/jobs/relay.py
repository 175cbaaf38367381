"""The relay job: what was stored but not acted on is offered again.

Events stored but not processed (a broker that was down, a worker that died) are
re-published after ``RELAY_GRACE_SECONDS``. Messages stuck in ``queued`` or
``sending`` and deferred messages whose time has come join this job with the
channels (see ``automation.delivery``), through :data:`EXTRA`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from automation import relay

# Further relays (the delivery ledger's) register here; each returns how many it offered.
EXTRA: list[Callable[[datetime], int]] = []


def run_relay(now: datetime) -> int:
    """Re-publish stale events, then run the other relays; returns how many were offered."""
    total = relay.relay()
    for extra in EXTRA:
        total += extra(now)
    return total
