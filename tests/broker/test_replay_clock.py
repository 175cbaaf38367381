"""A replay's clock reaches the worker processes through the messages they take."""

from __future__ import annotations

import threading

import pendulum
from dramatiq import Message
from dramatiq.brokers.stub import StubBroker

from automation import clock
from automation.broker.replay_clock import OPTION, ReplayClock

AT = pendulum.datetime(2026, 9, 3, 22, 30, tz="Asia/Seoul")


def _published_while_frozen() -> Message:
    broker = StubBroker()
    broker.add_middleware(ReplayClock())
    broker.declare_queue("events")
    with clock.frozen_at(AT):
        broker.enqueue(Message("events", "process_events", ([1],), {}, {}))
    return Message.decode(broker.queues["events"].get_nowait())


def test_a_message_published_in_a_replay_carries_its_time() -> None:
    message = _published_while_frozen()
    assert pendulum.parse(message.options[OPTION]) == AT
    broker = StubBroker()
    broker.add_middleware(ReplayClock())
    broker.declare_queue("events")
    broker.enqueue(Message("events", "process_events", ([1],), {}, {}))  # real time
    assert OPTION not in Message.decode(broker.queues["events"].get_nowait()).options


def test_a_worker_on_real_time_follows_the_message_then_lets_go() -> None:
    message = _published_while_frozen()
    middleware, broker = ReplayClock(), StubBroker()
    seen: dict[str, object] = {}

    def work() -> None:
        middleware.before_process_message(broker, message)
        seen["during"] = clock.now()
        seen["replayed"] = clock.replayed()
        middleware.after_process_message(broker, message)
        seen["after"] = clock.now()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen["during"] == AT and seen["replayed"] == AT
    assert seen["after"] != AT and clock.replayed() is None
    assert abs((clock.now() - pendulum.now("UTC")).total_seconds()) < 60  # others: real time


def test_a_process_replaying_its_own_clock_ignores_the_stamp() -> None:
    message = _published_while_frozen()
    own = pendulum.datetime(2027, 1, 1, tz="UTC")
    with clock.frozen_at(own):
        ReplayClock().before_process_message(StubBroker(), message)
        assert clock.now() == own
    clock.follow(None)
