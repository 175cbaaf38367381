"""The demo's worker: the real actors, fed from a stub broker in the demo's own thread.

The same seed must give the same numbers. A Dramatiq worker's threads take events and
deliveries from their two queues in whatever order the threads happen to run, and a
delivery that runs before or after an event of the same customer can meet a different
cap or a different recommendation. So the demo works the broker off itself, in a fixed
order: every waiting event first, then the deliveries they decided, until both queues
are empty. The actors are the real ones (``process_events``, ``deliver_messages``).

Waiting ``process_events`` messages are worked off together, in chunks of
``publish.CHUNK`` ids, as if they had been published in one batch: a delivery ingests
one ``email_sent`` event at a time, and a transaction per event would cost the replay
most of its time.
"""

from __future__ import annotations

import logging
from queue import Empty, Queue

from dramatiq import Message
from dramatiq.brokers.stub import StubBroker

from automation.broker.enqueue import CHUNK
from automation.db.sql import chunks
from automation.worker.actors import use_broker

log = logging.getLogger(__name__)
EVENTS, MESSAGES = "events", "messages"


class Pump:
    """Owns the process's stub broker; calling it works every queue until all are empty."""

    def __init__(self) -> None:
        self.broker = StubBroker()
        use_broker(self.broker)
        self.failures = 0  # actor calls that raised (the actors log their own errors)

    def __call__(self, reads_next: bool = True) -> None:
        """Process every waiting event, deliver what was decided, until nothing waits.

        Always, ``reads_next`` or not: the same seed must give the same numbers, so the
        embedded replay never lets the engine's work overlap its next step."""
        while True:
            events = self._take(EVENTS)
            if events:
                ids = [pk for m in events for pk in m.args[0]]
                for part in chunks(ids, CHUNK):
                    self._run("process_events", part)
                continue
            deliveries = self._take(MESSAGES)
            if not deliveries:
                return
            for m in deliveries:
                self._run(m.actor_name, *m.args)

    def _take(self, queue_name: str) -> list[Message]:
        queue: Queue[bytes] | None = self.broker.queues.get(queue_name)
        taken: list[Message] = []
        while queue is not None:
            try:
                data = queue.get_nowait()
            except Empty:
                break
            queue.task_done()
            taken.append(Message.decode(data))
        return taken

    def _run(self, actor_name: str, *args: object) -> None:
        try:
            self.broker.get_actor(actor_name).fn(*args)
        except Exception:
            self.failures += 1
            log.exception("%s failed", actor_name)
