"""The embedded runtime: an in-process worker, relay and scheduler beside the API
(``serve``)."""

from __future__ import annotations

import logging
import threading

from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from automation.broker import drain_stub, get_broker, start_worker
from automation.events import outbox
from automation.worker.actors import use_broker

log = logging.getLogger(__name__)


class Embedded:
    """Starts what a single process needs besides the API; stops it cleanly."""

    def __init__(self, relay_every: float = 15.0, scheduler: bool = True) -> None:
        self.relay_every = relay_every
        self.scheduler = scheduler
        self.worker: Worker | None = None
        self._stop = threading.Event()
        self._relay_thread: threading.Thread | None = None
        self._scheduler_thread: threading.Thread | None = None

    def start(self) -> None:
        import automation.worker.actors  # noqa: F401  (declares the actors on the broker)

        broker = get_broker()
        if isinstance(broker, StubBroker):
            self.worker = start_worker(broker)
        self._relay_thread = threading.Thread(target=self._relay_loop, name="relay", daemon=True)
        self._relay_thread.start()
        if self.scheduler:
            from automation.scheduler.service import SchedulerService

            # Leads unless a separate `automation scheduler` already does.
            service = SchedulerService()
            self._scheduler_thread = threading.Thread(
                target=service.run, args=(self._stop,), name="scheduler", daemon=True
            )
            self._scheduler_thread.start()

    def _relay_loop(self) -> None:
        outbox.relay(grace_seconds=0)  # what a previous process left behind
        while not self._stop.wait(self.relay_every):
            try:
                outbox.relay()
            except Exception:
                log.exception("relay failed; trying again in %.0fs", self.relay_every)

    def stop(self) -> None:
        self._stop.set()
        if self._scheduler_thread is not None:
            self._scheduler_thread.join(timeout=30)
        if self.worker is not None:
            self.worker.stop()


def drain() -> int:
    """Process everything stored but unprocessed, and what that produces, then return.

    Each CLI run is a fresh process: the stub broker starts empty and the database
    is the source of truth, so the relay publishes the backlog to a private stub
    broker and an in-process worker works it off.
    """

    broker = StubBroker()
    use_broker(broker)
    worker = start_worker(broker)
    from automation.delivery.backlog import relay_messages

    total = 0
    try:
        while True:
            published = outbox.relay(grace_seconds=0)
            offered = relay_messages(grace_seconds=0)
            drain_stub(broker, worker)
            total += published
            if published + offered == 0:
                break
    finally:
        worker.stop()
    return total
