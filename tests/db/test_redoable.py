"""Which commits wait for the disk (PostgreSQL): work redone from its inputs does not,
what leaves the database does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from automation import clock, db
from automation.delivery.deliver import deliver
from automation.events.ingest import ingest
from automation.scheduler import state
from automation.worker import process
from tests.helpers import ev
from tests.journey_world import START, World, customer_in
from tests.peers import sms_gateway_running
from tests.review_items import queued_message


@contextmanager
def commits() -> Iterator[list[str]]:
    """``synchronous_commit`` as each commit of the application's engine found it: "off"
    for a commit that returns before its flush to disk."""
    seen: list[str] = []

    def note(conn: Any) -> None:
        raw = conn.connection.driver_connection  # same transaction, no event of ours
        seen.append(raw.execute("SELECT current_setting('synchronous_commit')").fetchone()[0])

    engine = db.get_engine()
    event.listen(engine, "commit", note)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", note)


def test_a_chunk_commits_without_waiting_but_its_ingest_waits(postgres_database: str) -> None:
    with commits() as ingested:
        stored = ingest([ev("e1", visitor_id="v1")], publish=False).stored_ids
    assert ingested and set(ingested) == {"on"}  # the API answers 202 after this commit
    with commits() as processed:
        assert process.process_events(stored) == 1
    assert processed == ["off"]  # lost in a crash: the event is unprocessed, offered again
    with commits() as again:
        assert process.process_events(stored) == 0  # and the commit took effect
    assert set(again) <= {"off"}


def test_the_scheduler_records_a_run_without_waiting(postgres_database: str) -> None:
    with commits() as seen:
        state.ran("timers", 3)
    assert seen == ["off"]
    assert [(r.job, r.last_emitted) for r in state.runs()] == [("timers", 3)]


def test_a_timers_batch_commits_without_waiting(postgres_database: str) -> None:
    world = World()  # the clock frozen at START
    cid = world.customer(customer_in("offer"))
    world.policy("P1", cid, date(2026, 11, 22))
    world.send("policy_maturity_approaching", cid, policy_id="P1")  # waits on a timer
    clock.advance(START.add(days=3) - clock.now())
    with commits() as seen:
        assert world.tick_only() == 1
    assert seen == ["off"]  # lost in a crash: the timer is still unfired, fired again
    assert len(world.fired_timer_ids()) == 1


def test_a_delivery_commits_its_claim_to_disk_before_sending(
    postgres_database: str, frozen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message decided by a chunk whose commit is still in memory: the delivery's claim
    waits for the disk, which flushes the chunk's commit too, before anything is sent."""
    World(builtin=False).customer("C1", mobile="010-1234-5678")
    with sms_gateway_running(monkeypatch) as received, commits() as seen:
        assert deliver(queued_message("m1", "sms", "product_reminder")).status == "sent"
    assert len(received) == 1
    assert seen and set(seen) == {"on"}
