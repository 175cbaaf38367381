"""Idle Redis consumers wait to be woken: no polling, and a message wakes them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq import Broker, Worker
from dramatiq.brokers.redis import RedisBroker

from automation.broker import build_broker, waking
from tests.services import REDIS_URL, require
from tests.worker.procs import wait_until

QUEUE = "wake_test"


@pytest.fixture
def server() -> redis.Redis:
    require("redis")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    return client


@pytest.fixture
def received(
    server: redis.Redis,
) -> Iterator[tuple[dramatiq.Actor[..., None], list[str], threading.Event, Broker]]:
    """A broker of ours with one actor recording what it gets, and an idle worker on it
    polling as often as the demo's (10 ms) would."""
    broker = build_broker(REDIS_URL)
    got: list[str] = []
    arrived = threading.Event()

    def record(text: str) -> None:
        got.append(text)
        arrived.set()

    actor = dramatiq.actor(queue_name=QUEUE, broker=broker, max_retries=0)(record)
    worker = Worker(broker, worker_threads=1, worker_timeout=10)
    worker.start()
    try:
        yield actor, got, arrived, broker
    finally:
        worker.stop()
        broker.close()


def _calls(server: redis.Redis, command: str) -> int:
    return int(server.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def _waiting(server: redis.Redis) -> int:
    return sum(1 for c in server.client_list() if "b" in c.get("flags", ""))  # blocked


def test_idle_consumers_do_not_poll_redis(server: redis.Redis, received: Any) -> None:
    wait_until(lambda: _waiting(server) == 2, 10)  # the queue's and its delay queue's consumers
    before = _calls(server, "evalsha")
    time.sleep(1.5)
    # Polling every 10 ms, the two consumers ran the fetch script about 300 times; waiting
    # on the wake list, once a second each at most.
    assert _calls(server, "evalsha") - before <= 8


def test_a_message_wakes_an_idle_worker(
    server: redis.Redis, received: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor, got, arrived, _ = received
    wait_until(lambda: _waiting(server) == 2, 10)
    monkeypatch.setattr(waking, "IDLE_WAIT_S", 60)  # the next waits: only a token ends them
    time.sleep(1.2)  # every consumer's current wait (1 s) over; they now wait 60 s
    actor.send("hello")
    assert arrived.wait(10), "the message waited for a consumer's next look"
    assert got == ["hello"]
    monkeypatch.undo()
    for queue in (QUEUE, f"{QUEUE}.DQ"):  # end the long waits, so the worker can stop
        server.lpush(f"dramatiq:__wake__.{queue}", 1)


def test_a_message_sent_without_a_token_is_found_at_the_next_look(
    server: redis.Redis, received: Any
) -> None:
    _, got, arrived, _ = received
    wait_until(lambda: _waiting(server) == 2, 10)
    plain = RedisBroker(url=REDIS_URL)  # another program: dramatiq's broker, no wake-up
    plain.declare_queue(QUEUE)
    plain.enqueue(dramatiq.Message(QUEUE, "record", ("quiet",), {}, {}))
    assert arrived.wait(10)
    assert got == ["quiet"]
    plain.close()


def test_wake_tokens_are_kept_few_when_no_one_listens(server: redis.Redis) -> None:
    broker = build_broker(REDIS_URL)
    broker.declare_queue(QUEUE)
    for n in range(50):
        broker.enqueue(dramatiq.Message(QUEUE, "record", (str(n),), {}, {}))
    assert server.llen(f"dramatiq:__wake__.{QUEUE}") == waking.WAKE_TOKENS
    assert server.llen(f"dramatiq:{QUEUE}") == 50  # every message is queued all the same
    broker.close()
