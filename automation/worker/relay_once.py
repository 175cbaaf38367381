"""The relay a worker process runs once when it replaces one that died (``child.py``).

A process killed between a commit and the publish after it strands what it committed:
events stored by its chunk, messages it decided, the ``email_sent`` events of a batch.
The relay job would offer them again after ``RELAY_GRACE_SECONDS`` and its period (up to
a minute and a half in production); the replacement offers them after seconds.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("automation.worker")

# Seconds after the replacement starts, and the grace of that relay: the dead process
# died before the replacement started, so what it published is at least this old.
CRASH_RELAY_AFTER = 5


def relay_after_crash(
    stop: threading.Event, wait: float = CRASH_RELAY_AFTER
) -> tuple[int, int] | None:
    """Wait ``wait`` seconds (unless stopped), then offer again every event and message
    published :data:`CRASH_RELAY_AFTER` seconds ago or more and still not done; returns
    how many of each (None if stopped first or the relay failed)."""
    if stop.wait(wait):
        return None
    from automation.delivery.backlog import relay_messages
    from automation.events import outbox

    try:
        events = outbox.relay(grace_seconds=CRASH_RELAY_AFTER)
        messages = relay_messages(grace_seconds=CRASH_RELAY_AFTER)
    except Exception:  # the relay job will do it: never take the process down for this
        log.exception("relay after a crash failed; the relay job will offer them")
        return None
    log.info("after a crash: %d events and %d messages offered again", events, messages)
    return events, messages
