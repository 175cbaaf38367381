"""Which commits wait for the disk (PostgreSQL): work redone from its inputs does not,
what leaves the database does."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from automation import clock
from automation.delivery.deliver import deliver
from automation.events.ingest import ingest
from automation.scheduler import state
from automation.worker import process
from tests.helpers import commits_made, ev
from tests.journey_world import START, World, customer_in
from tests.peers import sms_gateway_running
from tests.review_items import queued_message


def test_a_chunk_commits_without_waiting_but_its_ingest_waits(postgres_database: str) -> None:
    with commits_made() as ingested:
        stored = ingest([ev("e1", visitor_id="v1")], publish=False).stored_ids
    assert ingested and set(ingested) == {"on"}  # the API answers 202 after this commit
    with commits_made() as processed:
        assert process.process_events(stored) == 1
    assert processed == ["off"]  # lost in a crash: the event is unprocessed, offered again
    with commits_made() as again:
        assert process.process_events(stored) == 0  # and the commit took effect
    assert set(again) <= {"off"}


def test_the_scheduler_records_a_run_without_waiting(postgres_database: str) -> None:
    with commits_made() as seen:
        state.ran("timers", 3)
    assert seen == ["off"]
    assert [(r.job, r.last_emitted) for r in state.runs()] == [("timers", 3)]


def test_a_timers_batch_commits_without_waiting(postgres_database: str) -> None:
    world = World()  # the clock frozen at START
    cid = world.customer(customer_in("offer"))
    world.policy("P1", cid, date(2026, 11, 22))
    world.send("policy_maturity_approaching", cid, policy_id="P1")  # waits on a timer
    clock.advance(START.add(days=3) - clock.now())
    with commits_made() as seen:
        assert world.tick_only() == 1
    assert seen == ["off"]  # lost in a crash: the timer is still unfired, fired again
    assert len(world.fired_timer_ids()) == 1


def test_a_delivery_commits_its_claim_to_disk_before_sending(
    postgres_database: str, frozen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message decided by a chunk whose commit is still in memory: the delivery's claim
    waits for the disk, which flushes the chunk's commit too, before anything is sent."""
    World(builtin=False).customer("C1", mobile="010-1234-5678")
    with sms_gateway_running(monkeypatch) as received, commits_made() as seen:
        assert deliver(queued_message("m1", "sms", "product_reminder")).status == "sent"
    assert len(received) == 1
    assert seen and set(seen) == {"on"}
