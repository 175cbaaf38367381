"""The broker, built from ``BROKER_URL``: the stub (in-process), Redis or RabbitMQ."""

from __future__ import annotations

import logging
import threading

import dramatiq
from dramatiq import Broker, Worker
from dramatiq.brokers.stub import StubBroker

from automation.broker.replay_clock import ReplayClock
from automation.config import get_settings
from automation.errors import ConfigError

log = logging.getLogger(__name__)

# Redis keeps a worker's fetched-but-unacknowledged messages under the worker's id until
# the worker is counted dead: no heartbeat for HEARTBEAT_TIMEOUT_MS, noticed by a
# "maintenance" pass inside a broker command. Dramatiq's defaults (60 s, one command in a
# thousand) left a killed process's messages waiting a minute or more. A live worker
# heartbeats on every command, and a consumer thread not holding all it may looks at
# least once a second (``waking.IDLE_WAIT_S``; the delay queues' consumers are never
# full), so 5 s is five missed looks; a worker counted dead by mistake only has its
# messages worked twice, which claims make harmless. Maintenance on every command costs
# two small sorted-set reads inside the script that runs anyway.
HEARTBEAT_TIMEOUT_MS = 5_000
MAINTENANCE_CHANCE = 1_000_000  # out of a million commands: every one
_lock = threading.Lock()
_current: Broker | None = None


def build_broker(url: str) -> Broker:
    """A new broker for ``url`` (``stub://``, ``redis://…``, ``amqp://…``), carrying a
    replay's clock to its workers (``replay_clock.py``)."""
    broker: Broker
    if url.startswith("stub"):
        broker = StubBroker()
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from automation.broker.waking import WakingRedisBroker

        broker = WakingRedisBroker(
            url=url,
            heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=MAINTENANCE_CHANCE,
        )
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # RabbitMQ hands a dead consumer's unacknowledged messages to another one as soon
        # as its connection closes: nothing to shorten.
        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    else:
        raise ConfigError(f"BROKER_URL '{url}' is not stub://, redis://… or amqp://…")
    broker.add_middleware(ReplayClock())
    return broker


def get_broker() -> Broker:
    """The process's broker, built from settings on first use and set as dramatiq's global."""
    global _current
    with _lock:
        if _current is None:
            _current = build_broker(get_settings().broker_url)
            dramatiq.set_broker(_current)
        return _current


def set_broker(broker: Broker) -> Broker:
    """Make ``broker`` the process's broker (and dramatiq's global). Actors declared
    earlier stay on the broker they were declared on: ``worker.actors.use_broker``
    declares them on this one too."""
    global _current
    with _lock:
        _current = broker
        dramatiq.set_broker(broker)
    return broker


def start_worker(broker: Broker, threads: int = 2) -> Worker:
    """An in-process worker (the embedded default's worker thread)."""
    worker = Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    return worker


def drain_stub(broker: StubBroker, worker: Worker) -> None:
    """Wait until every queue of the stub broker is empty and the worker idle (events
    lead to messages and messages to events: join until a pass finds all empty)."""
    while True:
        for queue in list(broker.queues):
            if not queue.endswith(".DQ") and not queue.endswith(".XQ"):
                broker.join(queue, fail_fast=False)
        worker.join()
        if all(
            broker.queues[q].qsize() == 0 for q in broker.queues if not q.endswith((".DQ", ".XQ"))
        ):
            return
