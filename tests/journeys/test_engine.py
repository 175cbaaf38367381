"""The shipped journeys walked through every path with a frozen clock (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import JSON, text
from sqlalchemy import bindparam as sqla_bindparam
from sqlmodel import select

from automation import clock
from automation.db import session_scope
from automation.journeys.registry import publish_files, set_status, summary
from automation.models import Enrollment, Event, JourneyStatus, Message, Timer
from automation.worker import process
from tests.helpers import statements_run
from tests.journey_world import START, World, customer_in

MATURITY = date(2026, 11, 22)  # 20 days after START


@pytest.fixture
def world(database: str) -> World:
    return World()


def retention_customer(world: World, arm: str = "offer") -> str:
    cid = world.customer(customer_in(arm))
    world.policy("P1", cid, MATURITY)
    world.send("policy_maturity_approaching", cid, policy_id="P1")
    return cid


def test_offer_then_click_then_renewal_converts(world: World) -> None:
    cid = retention_customer(world)
    assert world.messages(cid) == [("email", "retention_offer")]
    world.after(days=1)
    world.send("email_clicked", cid, policy_id="P1")
    world.send("policy_renewed", cid, policy_id="P1")
    e = world.enrollment("maturity-retention", cid)
    assert (e.status, e.state) == ("converted", "__converted__")
    assert e.last_message_id is not None and e.outcome_event_id is not None
    assert world.path(e.id) == ["assign", "offer", "interested", "__converted__"]
    world.after(days=3)
    assert world.messages(cid) == [("email", "retention_offer")]  # no SMS after converting


def test_no_click_escalates_to_sms_then_a_call(world: World) -> None:
    cid = retention_customer(world)
    world.after(days=2, hours=23)
    assert world.messages(cid) == [("email", "retention_offer")]
    world.after(hours=1)  # three days after the e-mail
    assert world.messages(cid)[-1] == ("sms", "retention_reminder")
    world.after(days=4)
    assert world.messages(cid)[-1] == ("call", None)
    with session_scope() as s:
        call = s.exec(select(Message).where(Message.channel == "call")).one()
    assert call.payload["queue"] == "retention" and call.payload["priority"] == "high"
    world.send("call_completed", cid, outcome="appointment")
    assert world.enrollment("maturity-retention", cid).state == "interested"
    clock.freeze(START.add(days=20).set(hour=10))  # maturity day, 10:00 in Seoul
    world.tick()
    e = world.enrollment("maturity-retention", cid)
    assert (e.status, e.state) == ("completed", "done")


def test_the_holdout_gets_nothing_but_still_counts(world: World) -> None:
    cid = retention_customer(world, "holdout")
    e = world.enrollment("maturity-retention", cid)
    assert (e.state, e.control, e.variant) == ("holdout", True, "holdout")
    world.after(days=10)
    assert world.messages(cid) == []
    world.send("policy_renewed", cid, policy_id="P1")
    assert world.enrollment("maturity-retention", cid).status == "converted"


def test_exit_on_the_same_policy_only(world: World) -> None:
    cid = retention_customer(world)
    world.send("policy_cancelled", cid, policy_id="OTHER")
    assert world.enrollment("maturity-retention", cid).status == "active"
    world.send("policy_cancelled", cid, policy_id="P1")
    e = world.enrollment("maturity-retention", cid)
    assert (e.status, e.state) == ("exited", "__exited__")
    world.after(days=5)
    assert world.messages(cid) == [("email", "retention_offer")]


def test_one_enrollment_per_policy_and_none_twice(world: World) -> None:
    cid = retention_customer(world)
    world.policy("P2", cid, date(2026, 12, 1))
    world.send("policy_maturity_approaching", cid, policy_id="P1")  # the same policy again
    world.send("policy_maturity_approaching", cid, policy_id="P2")
    keys = sorted(e.key for e in world.enrollments("maturity-retention", cid))
    assert keys == ["P1", "P2"]


def test_the_entry_filter_keeps_inactive_policies_out(world: World) -> None:
    cid = world.customer(customer_in("offer"))
    world.policy("P9", cid, MATURITY, status="lapsed")
    world.send("policy_maturity_approaching", cid, policy_id="P9")
    assert world.enrollments("maturity-retention", cid) == []


def test_processing_an_event_again_changes_nothing(world: World) -> None:
    retention_customer(world)
    with session_scope() as s:
        before = (len(s.exec(select(Message)).all()), len(s.exec(select(Timer)).all()))
        event_ids = [e.entry_event_id for e in s.exec(select(Enrollment))]
    process.process_events([i for i in event_ids if i])  # a re-delivered message
    with session_scope() as s:
        assert (len(s.exec(select(Message)).all()), len(s.exec(select(Timer)).all())) == before


def test_a_timer_fires_once_however_often_the_clock_ticks(world: World) -> None:
    cid = retention_customer(world)
    clock.advance(START.add(days=3) - clock.now())
    assert world.tick() == 1
    assert world.tick() == 0
    assert [m for m in world.messages(cid) if m[0] == "sms"] == [("sms", "retention_reminder")]


def test_a_due_timer_moves_its_enrollment_without_reading_the_timer_back(world: World) -> None:
    """The timer's event carries its enrollment, step and kind (``catalog.timer_due``):
    the worker moves the enrollment without a query of the timers table."""
    cid = retention_customer(world)
    clock.advance(START.add(days=3) - clock.now())
    assert world.tick_only() == 1
    with session_scope() as s:
        due = s.exec(select(Event).where(Event.type == "timer_due")).one()
    assert set(due.properties) == {"timer_id", "enrollment_id", "step", "kind"}
    with statements_run() as statements:
        world.process()
    assert world.messages(cid)[-1] == ("sms", "retention_reminder")
    read_back = [s for s in statements if s.lstrip().startswith("SELECT") and "FROM timers" in s]
    assert read_back == []


def test_a_timer_due_stored_before_it_carried_its_timer_still_fires(world: World) -> None:
    """An event the timers job stored with the timer's id alone (before this version)
    is checked against the timer's row: due at the enrollment's step, it moves it."""
    cid = retention_customer(world)
    clock.advance(START.add(days=3) - clock.now())
    assert world.tick_only() == 1
    (timer_id,) = world.fired_timer_ids()
    with session_scope() as s:
        s.connection().execute(
            text("UPDATE events SET properties = :p WHERE type = 'timer_due'").bindparams(
                sqla_bindparam("p", type_=JSON)
            ),
            {"p": {"timer_id": timer_id}},
        )
    world.process()
    assert world.messages(cid)[-1] == ("sms", "retention_reminder")


def test_a_timer_set_before_the_customer_moved_on_moves_nobody(world: World) -> None:
    """Clicked on day one: the offer's three-day timer still fires, at a step the
    enrollment has left, and sends no reminder."""
    cid = retention_customer(world)
    world.after(days=1)
    world.send("email_clicked", cid, policy_id="P1")
    assert world.enrollment("maturity-retention", cid).state == "interested"
    world.after(days=2, hours=1)
    with session_scope() as s:
        assert len(s.exec(select(Event).where(Event.type == "timer_due")).all()) == 1
    assert world.enrollment("maturity-retention", cid).state == "interested"
    assert world.messages(cid) == [("email", "retention_offer")]


def test_in_flight_customers_finish_on_their_version(world: World, tmp_path: object) -> None:
    from pathlib import Path

    from automation.journeys.registry import builtin_files

    first = retention_customer(world)
    source = next(p for p in builtin_files() if p.stem == "maturity-retention").read_text(
        encoding="utf-8"
    )
    edited = Path(str(tmp_path)) / "maturity-retention.yaml"
    edited.write_text(
        source.replace("wait: 3d, to: sms_reminder", "wait: 1d, to: sms_reminder"), encoding="utf-8"
    )
    assert publish_files([edited])[0].version == 2
    second = world.customer(customer_in("offer", start=int(first[1:]) + 1))
    world.policy("P2", second, MATURITY)
    world.send("policy_maturity_approaching", second, policy_id="P2")
    world.after(days=1)
    assert world.messages(second)[-1] == ("sms", "retention_reminder")  # v2: after a day
    assert world.messages(first) == [("email", "retention_offer")]  # v1: still waiting
    world.after(days=2)
    assert world.messages(first)[-1] == ("sms", "retention_reminder")
    counts = summary("maturity-retention")[0]["customers"]
    assert set(counts) == {"v1", "v2"}


def test_republishing_the_same_file_makes_no_new_version(world: World) -> None:
    from automation.journeys.registry import builtin_files

    again = publish_files(builtin_files())
    assert all(not p.created and p.version == 1 for p in again)


def test_a_paused_journey_takes_no_one_and_holds_its_timers(world: World) -> None:
    cid = retention_customer(world)
    set_status("maturity-retention", JourneyStatus.PAUSED)
    other = world.customer(customer_in("offer", start=int(cid[1:]) + 1))
    world.policy("P2", other, MATURITY)
    world.send("policy_maturity_approaching", other, policy_id="P2")
    assert world.enrollments("maturity-retention", other) == []
    world.after(days=4)
    assert world.messages(cid) == [("email", "retention_offer")]
    set_status("maturity-retention", JourneyStatus.ACTIVE)
    world.tick()
    assert world.messages(cid)[-1] == ("sms", "retention_reminder")


def test_a_journey_paused_from_another_process_takes_no_one_at_the_next_event(
    world: World,
) -> None:
    cid = retention_customer(world)  # this process has read the journeys and kept them
    with session_scope() as s:  # the console's process, or someone in psql
        s.connection().execute(
            text("UPDATE journeys SET status = 'paused' WHERE journey_id = 'maturity-retention'")
        )
    other = world.customer(customer_in("offer", start=int(cid[1:]) + 1))
    world.policy("P2", other, MATURITY)
    world.send("policy_maturity_approaching", other, policy_id="P2")
    assert world.enrollments("maturity-retention", other) == []


def test_conversion_ladder_member_to_repeat(world: World) -> None:
    cid = world.customer("M1", lifecycle_stage="member")
    world.send("signup", cid)
    assert world.messages(cid, "welcome") == [("email", "welcome")]
    world.after(days=1)
    assert world.messages(cid, "conversion-ladder") == [("email", "product_recommendation")]
    world.after(days=3)
    world.after(days=4)
    assert [m[0] for m in world.messages(cid, "conversion-ladder")] == ["email", "sms", "call"]
    world.send("policy_purchased", cid, policy_id="N1")
    assert world.enrollment("conversion-ladder", cid).state == "customer_thanks"
    assert world.messages(cid, "conversion-ladder")[-1] == ("email", "first_policy_thanks")
    world.send("policy_purchased", cid, policy_id="N2")
    e = world.enrollment("conversion-ladder", cid)
    assert e.status == "converted"


def test_anniversaries_branch_by_kind(world: World) -> None:
    cid = world.customer("A1")
    world.send("customer_anniversary", cid, kind="birthday")
    world.send("customer_anniversary", cid, kind="policy")
    assert world.messages(cid, "anniversary-greeting") == [
        ("email", "birthday_greeting"),
        ("email", "policy_anniversary"),
    ]
    world.send("customer_anniversary", cid, kind="birthday")  # the same year: not again
    assert len(world.messages(cid, "anniversary-greeting")) == 2


def test_dormant_customer_coming_back_converts(world: World) -> None:
    cid = world.customer("D1")
    world.send("customer_dormant", cid)
    assert world.messages(cid) == [("email", "reactivation")]
    world.send("page_view", cid, url="/")
    assert world.enrollment("dormant-reactivation", cid).status == "converted"


def test_a_journey_runs_through_the_real_brokers(backend: object) -> None:
    """Ingest → broker → worker → engine, and timers through the broker too."""
    from datetime import timedelta

    from automation.events.ingest import ingest
    from automation.scheduler.jobs.timers import fire_due_timers
    from tests.conftest import Backend

    assert isinstance(backend, Backend)
    world = World()
    cid = world.customer(customer_in("offer"))
    world.policy("P1", cid, MATURITY)
    event = {
        "event_id": "m1",
        "type": "policy_maturity_approaching",
        "customer_id": cid,
        "occurred_at": clock.now().isoformat(),
        "properties": {"policy_id": "P1"},
    }
    ingest([event])
    backend.wait()
    assert world.messages(cid) == [("email", "retention_offer")]
    clock.advance(timedelta(days=3))
    assert fire_due_timers() == 1
    backend.wait()
    assert world.messages(cid)[-1] == ("sms", "retention_reminder")


def test_a_mail_scanners_click_moves_nobody_and_the_sms_still_follows(world: World) -> None:
    cid = retention_customer(world)
    world.send("email_clicked", cid, policy_id="P1", suspected_bot=True)
    assert world.enrollment("maturity-retention", cid).state == "offer"
    world.after(days=3)
    assert world.messages(cid) == [("email", "retention_offer"), ("sms", "retention_reminder")]
