"""Ingest → broker → worker → profile, on SQLite+stub, PostgreSQL+Redis, PostgreSQL+RabbitMQ."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from automation import db
from automation.events.ingest import ingest
from automation.models import Event
from tests.conftest import Backend
from tests.helpers import ExplodeOnBad, customer, ev, events_by_id, identity, policies_of


def test_events_are_stored_published_and_processed(backend: Backend) -> None:
    result = ingest([ev("a"), ev("b", visitor_id="v1"), ev("c", customer_id="C1")])
    assert result.rejected == 1  # "a" names nobody
    backend.wait()
    events = events_by_id()
    assert set(events) == {"b", "c"}
    assert all(e.processed_at is not None and e.attempts == 1 for e in events.values())


def test_login_after_anonymous_events_stitches_the_history(backend: Backend) -> None:
    ingest([ev("p1", visitor_id="v1"), ev("p2", visitor_id="v1", at="2026-11-22T10:05:00+09:00")])
    ingest([ev("in", "login", at="2026-11-22T10:10:00+09:00", visitor_id="v1", customer_id="C1")])
    backend.wait()
    events = events_by_id()
    assert {e.customer_id for e in events.values()} == {"C1"}
    ident = identity("v1")
    assert ident is not None and ident.customer_id == "C1" and ident.stitched_at is not None


def test_login_before_anonymous_events_attributes_later_ones(backend: Backend) -> None:
    ingest([ev("in", "signup", visitor_id="v1", customer_id="C1")])
    ingest([ev("p1", visitor_id="v1", at="2026-11-22T11:00:00+09:00")])
    backend.wait()
    assert events_by_id()["p1"].customer_id == "C1"


def test_login_in_the_same_batch_stitches_events_before_and_after_it(backend: Backend) -> None:
    ingest(
        [
            ev("p1", visitor_id="v1", at="2026-11-22T09:00:00+09:00"),
            ev("in", "login", visitor_id="v1", customer_id="C1", at="2026-11-22T09:05:00+09:00"),
            ev("p2", visitor_id="v1", at="2026-11-22T09:06:00+09:00"),
            ev("other", visitor_id="v2"),
        ]
    )
    backend.wait()
    events = events_by_id()
    assert events["p1"].customer_id == events["p2"].customer_id == "C1"
    assert events["other"].customer_id is None


def test_visitors_are_first_time_then_returning_then_members(backend: Backend) -> None:
    ingest(
        [
            ev("p1", visitor_id="v1", at="2026-11-20T10:00:00+09:00"),
            ev("p2", visitor_id="v1", at="2026-11-20T10:20:00+09:00"),
        ]
    )
    backend.wait()
    first = identity("v1")
    assert first is not None and (first.visits, first.stage) == (1, "first_time_anonymous")
    ingest([ev("p3", visitor_id="v1", at="2026-11-21T10:00:00+09:00")])  # > 30 min later
    backend.wait()
    returning = identity("v1")
    assert returning is not None and (returning.visits, returning.stage) == (2, "anonymous")
    ingest([ev("s", "signup", visitor_id="v1", customer_id="C1", at="2026-11-21T10:01:00+09:00")])
    backend.wait()
    member = identity("v1")
    assert member is not None and member.stage == "member"


def test_the_lifecycle_ladder_climbs_and_never_falls(backend: Backend) -> None:
    ingest([ev("s", "signup", visitor_id="v1", customer_id="C1")])
    backend.wait()
    c = customer("C1")
    assert c is not None and c.lifecycle_stage == "member" and c.joined_at is not None
    ingest(
        [
            ev(
                "b1",
                "policy_purchased",
                customer_id="C1",
                at="2026-11-22T11:00:00+09:00",
                properties={
                    "policy_id": "P1",
                    "product": "EDU-CARE",
                    "premium": 30000,
                    "maturity_date": "2046-11-22",
                },
            )
        ]
    )
    backend.wait()
    c = customer("C1")
    assert c is not None and c.lifecycle_stage == "customer" and c.first_policy_at is not None
    assert [(p.policy_id, p.status, str(p.maturity_date)) for p in policies_of("C1")] == [
        ("P1", "active", "2046-11-22")
    ]
    ingest(
        [
            ev(
                "b2",
                "policy_purchased",
                customer_id="C1",
                at="2026-11-22T12:00:00+09:00",
                properties={"policy_id": "P2"},
            )
        ]
    )
    backend.wait()
    assert (customer("C1") or c).lifecycle_stage == "repeat"
    ingest(
        [
            ev(
                "x",
                "policy_cancelled",
                customer_id="C1",
                at="2026-11-22T13:00:00+09:00",
                properties={"policy_id": "P2"},
            )
        ]
    )
    backend.wait()
    after = customer("C1")
    assert after is not None and after.lifecycle_stage == "repeat"
    assert {p.policy_id: p.status for p in policies_of("C1")} == {"P1": "active", "P2": "cancelled"}


def test_redelivery_changes_nothing(backend: Backend) -> None:
    from automation.worker.actors import process_events

    result = ingest(
        [
            ev("p1", visitor_id="v1"),
            ev("b1", "policy_purchased", customer_id="C1", properties={"policy_id": "P1"}),
        ]
    )
    backend.wait()
    before = events_by_id()
    process_events.send(result.stored_ids)  # the broker delivers the same message again
    process_events.send(result.stored_ids)
    backend.wait()
    after = events_by_id()
    assert {k: (e.processed_at, e.attempts) for k, e in after.items()} == {
        k: (e.processed_at, e.attempts) for k, e in before.items()
    }
    ident = identity("v1")
    assert ident is not None and ident.visits == 1
    assert len(policies_of("C1")) == 1


def test_a_broker_outage_loses_nothing(backend: Backend) -> None:
    from automation.broker import build_broker
    from automation.events.outbox import relay, unprocessed_count
    from automation.worker.actors import use_broker

    working = backend.broker
    use_broker(build_broker("redis://127.0.0.1:1/0"))  # nothing listens there
    result = ingest([ev("p1", visitor_id="v1"), ev("p2", visitor_id="v2")])
    assert result.count("accepted") == 2
    assert unprocessed_count() == 2  # stored, waiting for the relay
    use_broker(working)
    assert relay(grace_seconds=0) == 2
    backend.wait()
    assert unprocessed_count() == 0
    assert all(e.processed_at for e in events_by_id().values())


def test_a_failing_step_leaves_no_half_written_record(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automation.worker import process

    steps = process.STEPS
    monkeypatch.setattr(process, "STEPS", (*steps, ExplodeOnBad))
    try:
        ingest(
            [
                ev("bad", "policy_purchased", customer_id="C1", properties={"policy_id": "P1"}),
                ev("good", "policy_purchased", customer_id="C2", properties={"policy_id": "P2"}),
            ]
        )
        backend.wait()
    finally:
        monkeypatch.setattr(process, "STEPS", steps)
    events = events_by_id()
    assert events["good"].processed_at is not None
    assert events["bad"].processed_at is None
    assert events["bad"].attempts == 1 and "boom" in (events["bad"].last_error or "")
    assert customer("C1") is None and policies_of("C1") == []  # the profile step was rolled back
    assert len(policies_of("C2")) == 1
    # The relay offers it again; now that the step is gone it goes through.
    from automation.events.outbox import relay

    relay(grace_seconds=0)
    backend.wait()
    deadline = time.monotonic() + 30
    while events_by_id()["bad"].processed_at is None and time.monotonic() < deadline:
        time.sleep(0.05)  # it failed once, so wait() does not wait for it
    assert events_by_id()["bad"].processed_at is not None
    assert len(policies_of("C1")) == 1


def test_events_are_counted_once_across_many_batches(backend: Backend) -> None:
    for n in range(5):
        ingest([ev(f"e{i}", visitor_id=f"v{i % 7}") for i in range(n * 50, n * 50 + 80)])
    backend.wait()
    with db.get_engine().connect() as conn:
        assert conn.execute(select(func.count()).select_from(Event)).scalar_one() == 280
