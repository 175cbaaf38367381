"""A worker process that replaces a dead one offers again, seconds in, what the dead one
stranded between a commit and its publish; what is on its way now is left alone."""

from __future__ import annotations

import threading
from datetime import timedelta

from automation import clock
from automation.broker import get_broker
from automation.events.ingest import ingest
from automation.worker.relay_once import CRASH_RELAY_AFTER, relay_after_crash
from tests.helpers import ev
from tests.journey_world import World
from tests.review_items import queued_message


def _offered() -> dict[str, int]:
    broker = get_broker()
    return {name: broker.queues[name].qsize() for name in broker.queues}  # type: ignore[attr-defined]


def test_what_a_dead_process_stranded_is_offered_after_seconds(database: str) -> None:
    World(builtin=False).customer("C1")
    at = clock.now().isoformat()
    # Committed, never published: its process died in between.
    stored = ingest([ev("stranded", at=at, customer_id="C1")], publish=False)
    assert stored.summary()["accepted"] == 1, stored.summary()
    queued_message()  # decided, never handed to a worker
    before = _offered()

    assert relay_after_crash(threading.Event(), wait=0) == (0, 0)  # just now: on its way
    clock.advance(timedelta(seconds=CRASH_RELAY_AFTER))
    assert relay_after_crash(threading.Event(), wait=0) == (1, 1)
    after = _offered()
    assert sum(after.values()) == sum(before.values()) + 2


def test_a_process_told_to_stop_first_relays_nothing(database: str) -> None:
    stop = threading.Event()
    stop.set()
    assert relay_after_crash(stop, wait=5) is None


def test_the_supervisor_tells_a_replacement_it_replaces_a_dead_process() -> None:
    from automation.worker.supervise import Slot, Supervisor

    sup = Supervisor(1, ["true"], restart_args=["--after-crash"])
    first, again = Slot(0), Slot(0, history=[123])
    sup._start(first, 0.0)
    sup._start(again, 0.0)
    assert first.proc is not None and first.proc.args == ["true"]
    assert again.proc is not None and again.proc.args == ["true", "--after-crash"]
    first.proc.wait()
    again.proc.wait()
