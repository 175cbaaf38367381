"""Actions and timers the shipped journeys do not use: set, emit, handoff, business hours."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pendulum
import pytest
from sqlmodel import select

from automation import clock
from automation.db import session_scope
from automation.journeys.registry import publish_files
from automation.models import Event, Timer
from tests.helpers import customer
from tests.journey_world import World

FIRST = """\
journey: first
name: First
entry:
  on: quote_request
start: tag
states:
  tag:
    do:
      - set: {interested_in: pension}
      - emit: {type: lead_scored, properties: {score: 80}}
    after: {wait: 1h, to: office_hours, business_hours: true}
  office_hours:
    do:
      - call: {queue: pension, priority: high}
    on:
      - {event: call_completed, to: passed_on}
    at: {date: customer.birth_date, offset: 0d, time: "09:00", to: passed_on}
  passed_on:
    do:
      - handoff: second
"""
SECOND = """\
journey: second
name: Second
entry:
  on: never_sent
start: hello
states:
  hello:
    do:
      - email: welcome
    after: {wait: 1d, to: bye}
  bye:
    end: true
"""


@pytest.fixture
def world(database: str, tmp_path: Path) -> World:
    w = World(builtin=False)
    paths = []
    for name, text in (("first", FIRST), ("second", SECOND)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    publish_files(paths)
    return w


def test_set_emit_business_hours_and_handoff(world: World) -> None:
    friday_evening = pendulum.datetime(2026, 11, 6, 19, 0, tz="Asia/Seoul")
    clock.freeze(friday_evening)
    cid = world.customer("H1", birth_date=date(1990, 3, 9))
    world.send("quote_request", cid)
    c = customer(cid)
    assert c is not None and c.attributes["interested_in"] == "pension"
    with session_scope() as s:
        emitted = s.exec(select(Event).where(Event.type == "lead_scored")).one()
        timer = s.exec(select(Timer)).one()
    assert emitted.customer_id == cid and emitted.properties["score"] == 80
    assert emitted.processed_at is not None  # processed like any other event
    # One hour after Friday 19:00 is outside business hours: Monday 09:00 in Seoul.
    monday_nine = pendulum.datetime(2026, 11, 9, 9, 0, tz="Asia/Seoul")
    assert pendulum.instance(timer.due_at) == monday_nine
    world.after(days=2)
    assert world.enrollment("first", cid).state == "tag"
    world.after(days=1)
    assert world.enrollment("first", cid).state == "office_hours"
    assert world.messages(cid) == [("call", None)]
    world.send("call_completed", cid, outcome="reached")
    first = world.enrollment("first", cid)
    assert (first.status, first.context["handed_to"]) == ("exited", "second")
    second = world.enrollment("second", cid)
    assert (second.state, second.context["handed_from"]) == ("hello", "first")
    assert world.messages(cid)[-1] == ("email", "welcome")


def test_an_at_timer_on_a_customer_date_in_their_time_zone(world: World) -> None:
    clock.freeze(pendulum.datetime(2026, 11, 9, 10, 0, tz="Asia/Seoul"))  # a Monday
    cid = world.customer("H2", birth_date=date(2027, 1, 15), timezone="America/New_York")
    world.send("quote_request", cid)
    world.after(hours=1)  # into office_hours: the at-timer is set now
    with session_scope() as s:
        due = [t.due_at for t in s.exec(select(Timer)) if t.kind == "at"]
    assert [pendulum.instance(d) for d in due] == [
        pendulum.datetime(2027, 1, 15, 9, 0, tz="America/New_York")
    ]
