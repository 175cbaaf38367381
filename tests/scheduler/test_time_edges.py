"""Scheduler jobs at the edges of time: midnight in Seoul on a UTC server, customers in
daylight-saving zones, 29 February, an outage caught up, ticks repeated."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date, datetime

import pendulum
import pytest
from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.events.ingest import ingest
from automation.models import Customer, Event
from automation.scheduler import state
from automation.scheduler.jobs.activity import run_activity
from automation.scheduler.jobs.anniversaries import run_anniversaries
from automation.scheduler.jobs.consent import run_consent
from automation.scheduler.jobs.maturity import run_maturity
from automation.scheduler.runner import run_all
from tests.journey_world import World

SEOUL = "Asia/Seoul"


@pytest.fixture(autouse=True)
def _server_in_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's own zone is UTC, as on most hosts: nothing may depend on it."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def _scheduled(type_: str | None = None) -> list[Event]:
    with session_scope() as s:
        q = select(Event).where(Event.source == "scheduler")
        if type_:
            q = q.where(Event.type == type_)
        return list(s.exec(q.order_by(col(Event.id))))


def _ids(type_: str | None = None) -> list[str]:
    return [e.event_id for e in _scheduled(type_)]


def _at(*args: int, tz: str = SEOUL) -> datetime:
    return pendulum.datetime(*args, tz=tz)


def _now(*args: int, tz: str = SEOUL) -> datetime:
    """Move the clock there (ingest judges "the future" by it) and return the time."""
    clock.freeze(_at(*args, tz=tz))
    return clock.now()


def test_a_birthday_is_due_at_nine_in_seoul_while_utc_is_still_the_day_before(
    database: str,
) -> None:
    world = World(builtin=False)
    world.customer("C1", birth_date=date(1990, 11, 3))
    assert run_anniversaries(_now(2026, 11, 3, 8, 59)) == 0  # 23:59 on 2 Nov in UTC
    assert run_anniversaries(_now(2026, 11, 3, 9, 0)) == 1  # 00:00 UTC, still 3 Nov in Seoul
    assert run_anniversaries(_now(2026, 11, 3, 9, 0)) == 0
    [event] = _scheduled()
    assert event.event_id == "anniversary:birthday:C1:2026"
    assert event.properties == {"kind": "birthday", "date": "2026-11-03", "years": 36}
    assert event.occurred_at == _at(2026, 11, 3, 9, 0)


def test_maturity_window_turns_at_midnight_seoul_not_midnight_utc(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1")
    world.policy("P1", "C1", date(2026, 11, 22))
    assert run_maturity(_now(2026, 11, 1, 23, 59)) == 0  # window ends 21 Nov
    assert run_maturity(_now(2026, 11, 2, 0, 0)) == 1  # 15:00 UTC on 1 Nov: Seoul's 2 Nov
    assert _ids() == ["maturity:P1:2026-11-22"]


def test_customers_abroad_get_their_day_in_their_own_zone_across_dst(database: str) -> None:
    world = World(builtin=False)
    # 8 March 2026: New York springs forward at 02:00; London falls back on 25 October.
    world.customer("NY", timezone="America/New_York", birth_date=date(1985, 3, 8))
    world.customer("SEL", birth_date=date(1985, 3, 8))
    world.customer(
        "LON",
        timezone="Europe/London",
        birth_date=date(1980, 10, 25),
        joined_at=pendulum.datetime(2024, 10, 25, 23, 30, tz="UTC"),  # 26 Oct in London? no: BST
    )
    run_anniversaries(_now(2026, 3, 8, 9, 0))
    assert _ids() == ["anniversary:birthday:SEL:2026"]  # New York is still on 7 March
    run_anniversaries(_now(2026, 3, 8, 8, 59, tz="America/New_York"))  # EDT since 02:00
    assert len(_ids()) == 1
    run_anniversaries(_now(2026, 3, 8, 9, 0, tz="America/New_York"))
    assert _ids()[-1] == "anniversary:birthday:NY:2026"
    assert _scheduled()[-1].occurred_at == pendulum.datetime(2026, 3, 8, 13, 0, tz="UTC")
    # London: 25 Oct 2024 23:30 UTC was 26 Oct 00:30 BST, so the sign-up day is 26 Oct.
    run_anniversaries(_now(2026, 10, 25, 9, 0, tz="Europe/London"))  # GMT again since 02:00
    assert _ids()[-1] == "anniversary:birthday:LON:2026"
    assert _scheduled()[-1].occurred_at == pendulum.datetime(2026, 10, 25, 9, 0, tz="UTC")
    run_anniversaries(_now(2026, 10, 26, 9, 0, tz="Europe/London"))
    assert _ids()[-1] == "anniversary:signup:LON:2026"


def test_29_february(database: str) -> None:
    world = World(builtin=False)
    world.customer("LEAP", birth_date=date(1992, 2, 29))
    world.policy("P29", "LEAP", date(2028, 2, 29))
    run_anniversaries(_now(2027, 2, 28, 9, 0))  # no 29th in 2027: celebrated on the 28th
    assert _ids() == ["anniversary:birthday:LEAP:2027"]
    run_anniversaries(_now(2027, 3, 1, 9, 0))
    run_anniversaries(_now(2028, 2, 28, 9, 0))  # a leap year: not on the 28th
    assert _ids() == ["anniversary:birthday:LEAP:2027"]
    run_anniversaries(_now(2028, 2, 29, 9, 0))
    assert _ids()[-1] == "anniversary:birthday:LEAP:2028"
    # The policy maturing on 29 Feb 2028 is noticed 20 days before, on 9 February.
    assert run_maturity(_now(2028, 2, 8, 23, 0)) == 0
    assert run_maturity(_now(2028, 2, 9, 0, 0)) == 1
    assert _ids("policy_maturity_approaching") == ["maturity:P29:2028-02-29"]
    assert run_maturity(_now(2028, 3, 1, 0, 0)) == 1
    assert _ids("policy_matured") == ["matured:P29:2028-02-29"]


def test_a_three_day_outage_is_caught_up_in_order_once(database: str) -> None:
    world = World(builtin=False)
    for day in (10, 11, 12, 13):
        world.customer(f"B{day}", birth_date=date(1990, 11, day))
    world.customer("C1")
    world.policy("P-during", "C1", date(2026, 12, 1))  # its notice day, 11 Nov, falls in the outage
    run_all(_now(2026, 11, 10, 9, 30))
    assert _ids("customer_anniversary") == ["anniversary:birthday:B10:2026"]
    assert state.last_day("anniversaries", SEOUL) == date(2026, 11, 10)
    # Down from 10 Nov 09:30 until 13 Nov 10:00.
    run_all(_now(2026, 11, 13, 10, 0))
    days = [e.properties["date"] for e in _scheduled("customer_anniversary")]
    assert days == ["2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"]
    occurred = [e.occurred_at for e in _scheduled("customer_anniversary")]
    assert occurred == sorted(occurred)
    assert _ids("policy_maturity_approaching") == ["maturity:P-during:2026-12-01"]
    before = len(_ids())
    run_all(_now(2026, 11, 13, 10, 0))
    run_all(_now(2026, 11, 13, 11, 0))
    assert len(_ids()) == before
    assert state.last_day("anniversaries", SEOUL) == date(2026, 11, 13)


def test_an_outage_longer_than_the_catch_up_limit_goes_back_only_that_far(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOMATION_SCHEDULER_CATCH_UP_DAYS", "2")
    from automation.config import reset_settings

    reset_settings()
    world = World(builtin=False)
    for day in (1, 5, 6, 7):
        world.customer(f"B{day}", birth_date=date(1990, 11, day))
    run_anniversaries(_now(2026, 11, 1, 9, 0))
    run_anniversaries(_now(2026, 11, 7, 9, 0))
    assert _ids() == [f"anniversary:birthday:B{d}:2026" for d in (1, 5, 6, 7)]


def test_dormant_then_back_then_churned(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1", last_seen_at=_at(2026, 8, 1, 12, 0))
    world.customer("C2", last_seen_at=_at(2026, 10, 1, 12, 0))
    assert run_activity(_now(2026, 10, 30, 12, 0)) == 1  # 90 days after 1 Aug
    assert run_activity(_now(2026, 10, 30, 13, 0)) == 0  # already told
    world.process()
    assert _status("C1") == "dormant" and _status("C2") == "active"
    clock.freeze(_at(2026, 11, 2, 10, 0))
    world.send("page_view", "C1", url="/")
    assert _status("C1") == "reactivated"
    assert run_activity(_now(2027, 2, 1, 12, 0)) == 2  # both quiet for 90 days now
    world.process()
    assert _ids("customer_dormant") == [
        "dormant:C1:2026-08-01",
        "dormant:C1:2026-11-02",  # a new silence, a new event
        "dormant:C2:2026-10-01",
    ]
    assert run_activity(_now(2027, 10, 2, 12, 0)) == 1  # C2: a year since 1 Oct 2026
    world.process()
    assert _status("C2") == "churned" and _status("C1") == "dormant"


def test_a_dormant_verdict_that_arrives_after_the_customer_came_back_is_ignored(
    database: str,
) -> None:
    world = World(builtin=False)
    world.customer("C1", last_seen_at=_at(2026, 8, 1, 12, 0))
    clock.freeze(_at(2026, 11, 2, 8, 59))
    login = {"event_id": "L1", "type": "login", "customer_id": "C1"}
    ingest([login | {"occurred_at": clock.now().isoformat()}], publish=False)  # not processed
    assert run_activity(_now(2026, 11, 2, 9, 0)) == 1  # sees the old last visit
    world.process()  # the login first (time order), then the verdict: out of date
    assert _status("C1") == "active"


def test_advertising_consent_is_asked_again_before_it_lapses_then_expires(
    database: str,
) -> None:
    world = World(builtin=False)
    world.customer("C1", ad_consent=True, ad_consent_at=_at(2024, 12, 20, 15, 0))
    world.customer("C2", ad_consent=True, ad_consent_at=_at(2026, 1, 1, 10, 0))
    world.customer("C3", ad_consent=False, ad_consent_at=_at(2020, 1, 1, 10, 0))
    assert run_consent(_now(2026, 11, 19, 12, 0)) == 0  # 730 - 30 days is 20 Nov 15:00
    assert run_consent(_now(2026, 11, 20, 15, 0)) == 1
    assert run_consent(_now(2026, 11, 21, 15, 0)) == 0
    assert run_consent(_now(2026, 12, 20, 15, 0)) == 1
    expired = _scheduled("ad_consent_expired")
    assert [e.event_id for e in expired] == ["consent:expired:C1:2024-12-20"]
    assert expired[0].properties["expires_at"] == "2026-12-20T06:00:00+00:00"


def test_ticks_repeated_at_the_same_instant_create_nothing_new(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1", birth_date=date(1990, 11, 2), last_seen_at=_at(2026, 1, 1, 0, 0))
    world.policy("P1", "C1", date(2026, 11, 20))
    first = run_all(_now(2026, 11, 2, 10, 0))
    assert {r.job: r.emitted for r in first if r.emitted} == {
        "maturity": 1,
        "anniversaries": 1,
        "activity": 1,
    }
    stored = len(_ids())
    again = run_all(_now(2026, 11, 2, 10, 0))
    assert all(r.emitted == 0 and r.error is None for r in again if r.job != "relay")
    assert len(_ids()) == stored


def _status(customer_id: str) -> str:
    with session_scope() as s:
        customer = s.get(Customer, customer_id)
        assert customer is not None
        return customer.activity_status


def test_server_zone_is_utc_here() -> None:
    assert os.environ["TZ"] == "UTC" and time.localtime().tm_gmtoff == 0


def test_tick_from_the_command_line_twice_then_drain(database: str) -> None:
    from typer.testing import CliRunner

    from automation.cli import app

    runner = CliRunner()
    world = World()  # the built-in journeys: maturity retention picks the event up
    world.customer("C1")
    world.policy("P1", "C1", date(2026, 11, 20))
    first = runner.invoke(app, ["tick", "--at", "2026-11-02T10:00+09:00"])
    assert first.exit_code == 0, first.output
    assert "maturity 1" in first.output
    second = runner.invoke(app, ["tick", "--at", "2026-11-02T10:00+09:00"])
    assert "maturity 0" in second.output and "anniversaries 0" in second.output
    assert runner.invoke(app, ["drain"]).exit_code == 0
    assert world.messages("C1", "maturity-retention") == [("email", "retention_offer")]
    naive = runner.invoke(app, ["tick", "--at", "2026-11-02T10:00"])
    assert naive.exit_code == 1 and "no time zone" in naive.output
