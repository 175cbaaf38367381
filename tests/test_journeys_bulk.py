"""Bulk entry from a condition: the same enrollments, messages and timers the engine
would make, so the engine carries on from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from automation import clock
from automation.db import session_scope
from automation.errors import ValidationError
from automation.journeys.bulk import enter_matching
from automation.journeys.engine import bucket
from automation.journeys.registry import publish_files
from automation.models import Enrollment, Message, Timer, Transition
from tests.journey_world import World

JOURNEY = """\
journey: newsletter
name: Newsletter test
entry:
  on: segment_entered
  reentry: once
start: assign
states:
  assign:
    split:
      - {share: 20, to: control, control: true}
      - {share: 80, to: send}
  control:
    after: {wait: 7d, to: done}
  send:
    do:
      - email: cross_sell
    on:
      - {event: email_clicked, to: done}
    after: {wait: 3d, to: nudge}
  nudge:
    do:
      - sms: cross_sell_reminder
    after: {wait: 1d, to: done}
  done:
    end: true
"""


@pytest.fixture
def world(database: str, tmp_path: Path) -> World:
    w = World(builtin=False)
    path = tmp_path / "newsletter.yaml"
    path.write_text(JOURNEY, encoding="utf-8")
    publish_files([path])
    return w


def test_bulk_entry_enrolls_the_matching_customers_with_their_first_messages(world: World) -> None:
    for n in range(40):
        world.customer(f"B{n:03d}", has_children=n % 2 == 0)
    entered = enter_matching("newsletter", {"customer.has_children": True})
    assert entered == 20
    with session_scope() as s:
        enrollments = list(s.exec(select(Enrollment)))
        messages = list(s.exec(select(Message)))
        timers = list(s.exec(select(Timer)))
        transitions = list(s.exec(select(Transition)))
    assert {e.customer_id for e in enrollments} == {f"B{n:03d}" for n in range(0, 40, 2)}
    for e in enrollments:
        expected = "control" if bucket("newsletter", e.customer_id) < 20 else "send"
        assert (e.state, e.variant, e.control) == (expected, expected, expected == "control")
    sending = [e for e in enrollments if e.state == "send"]
    assert sorted(m.customer_id for m in messages) == sorted(e.customer_id for e in sending)
    assert all(m.template == "cross_sell" and m.status == "queued" for m in messages)
    assert all(e.last_message_id for e in sending)
    assert len(timers) == 20 and len(transitions) == 40  # entry + split for each


def test_bulk_entry_is_once_per_customer(world: World) -> None:
    world.customer("B1", has_children=True)
    assert enter_matching("newsletter", {"customer.has_children": True}) == 1
    assert enter_matching("newsletter", {"customer.has_children": True}) == 0


def test_the_engine_carries_on_from_bulk_entries(world: World) -> None:
    cid = next(f"B{n}" for n in range(100) if bucket("newsletter", f"B{n}") >= 20)
    world.customer(cid)
    enter_matching("newsletter")
    world.after(days=3)
    assert world.messages(cid) == [("email", "cross_sell"), ("sms", "cross_sell_reminder")]
    world.after(days=1)
    assert world.enrollment("newsletter", cid).status == "completed"
    clock.unfreeze()


def test_keyed_journeys_cannot_be_entered_in_bulk(database: str) -> None:
    World()
    with pytest.raises(ValidationError, match="once per policy_id"):
        enter_matching("maturity-retention")
