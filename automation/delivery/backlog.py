"""The delivery relay: messages whose actor message was lost, deferred messages whose
time has come, and messages left ``sending`` by a dead worker (see ``ledger.py``)."""

from __future__ import annotations

from datetime import datetime

from automation import clock
from automation.broker import enqueue_messages
from automation.db import get_engine
from automation.delivery import ledger


def relay_messages(now: datetime | None = None, grace_seconds: int | None = None) -> int:
    """Offer every waiting message whose time has come once; returns how many."""
    at = clock.to_utc(now or clock.now())
    ledger.resolve_stuck(at)
    total, seen = 0, set()
    while ids := [
        i for i in ledger.due_for_relay(at, grace_seconds=grace_seconds) if i not in seen
    ]:
        if not enqueue_messages(ids):
            break
        with get_engine().begin() as conn:
            ledger.offered(conn, ids, at)
        seen.update(ids)
        total += len(ids)
    return total
