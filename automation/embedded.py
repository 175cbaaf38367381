"""The embedded runtime: an in-process worker and relay beside the API (``serve``)."""

from __future__ import annotations

import logging
import threading

from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from automation import relay
from automation.broker import drain_stub, get_broker, start_worker

log = logging.getLogger(__name__)


class Embedded:
    """Starts what a single process needs besides the API; stops it cleanly."""

    def __init__(self, relay_every: float = 15.0) -> None:
        self.relay_every = relay_every
        self.worker: Worker | None = None
        self._stop = threading.Event()
        self._relay_thread: threading.Thread | None = None

    def start(self) -> None:
        import automation.actors  # noqa: F401  (declares the actors on the broker)

        broker = get_broker()
        if isinstance(broker, StubBroker):
            self.worker = start_worker(broker)
        self._relay_thread = threading.Thread(target=self._relay_loop, name="relay", daemon=True)
        self._relay_thread.start()

    def _relay_loop(self) -> None:
        relay.relay(grace_seconds=0)  # what a previous process left behind
        while not self._stop.wait(self.relay_every):
            try:
                relay.relay()
            except Exception:
                log.exception("relay failed; trying again in %.0fs", self.relay_every)

    def stop(self) -> None:
        self._stop.set()
        if self.worker is not None:
            self.worker.stop()


def drain() -> int:
    """Process everything stored but unprocessed, and what that produces, then return.

    Each CLI run is a fresh process: the stub broker starts empty and the database
    is the source of truth, so the relay publishes the backlog to a private stub
    broker and an in-process worker works it off.
    """
    from automation.broker import use_broker

    broker = StubBroker()
    use_broker(broker)
    worker = start_worker(broker)
    total = 0
    try:
        while True:
            published = relay.relay(grace_seconds=0)
            drain_stub(broker, worker)
            total += published
            if published == 0 or relay.unprocessed_count() == 0:
                break
    finally:
        worker.stop()
    return total
