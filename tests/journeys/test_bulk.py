"""Bulk entry from a condition: the same enrollments, messages and timers the engine
would make, so the engine carries on from them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.errors import ValidationError
from automation.journeys import bulk
from automation.journeys.bulk import enter_matching
from automation.journeys.moves import bucket
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


ROUTED = """\
journey: routed
name: Bulk entry through a branch, with date timers
entry:
  on: segment_entered
start: route
states:
  route:
    branch:
      - {when: {customer.has_children: true}, to: family}
      - {else: single}
  family:
    do:
      - email: cross_sell
    at: {date: customer.birth_date, offset: 0d, time: "10:00", to: done}
  single:
    at: {date: customer.birth_date, offset: -1d, time: "09:00", to: done}
  done:
    end: true
"""


def _entered(journey: str) -> dict[str, tuple[Any, ...]]:
    """Per customer: state, variant, control, step, its transitions, timers and messages."""
    with session_scope() as s:
        out = {}
        for e in s.exec(select(Enrollment).where(Enrollment.journey_id == journey)):
            moves = s.exec(
                select(Transition.from_state, Transition.to_state, Transition.trigger)
                .where(Transition.enrollment_id == e.id)
                .order_by(col(Transition.id))
            ).all()
            timers = s.exec(
                select(Timer.kind, Timer.target, Timer.due_at, Timer.step).where(
                    Timer.enrollment_id == e.id
                )
            ).all()
            sent = s.exec(
                select(Message.id, Message.idempotency_key, Message.template).where(
                    Message.enrollment_id == e.id
                )
            ).all()
            assert e.last_message_id == (sent[-1][0] if sent else None)
            keys = [key.replace(f":{e.id}:", ":E:", 1) for _, key, _ in sent]  # ids vary
            out[e.customer_id] = (
                e.state, e.variant, e.control, e.step, e.status, list(moves), list(timers),
                keys, [template for *_, template in sent],
            )  # fmt: skip
        return out


def test_pages_written_over_several_connections_match_one_connection(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "PAGE", 7)  # 60 customers: 9 pages
    for n in range(60):
        world.customer(f"P{n:03d}")
    assert enter_matching("newsletter", connections=1) == 60
    one = _entered("newsletter")
    with session_scope() as s:
        for table in (Timer, Transition, Message):
            for row in s.exec(select(table)):
                s.delete(row)
        s.flush()
        for row in s.exec(select(Enrollment)):
            s.delete(row)
    assert enter_matching("newsletter", connections=3) == 60
    assert _entered("newsletter") == one
    assert {state for state, *_ in one.values()} == {"control", "send"}


def test_branches_and_date_timers_are_decided_per_customer(database: str, tmp_path: Path) -> None:
    world = World(builtin=False)
    path = tmp_path / "routed.yaml"
    path.write_text(ROUTED, encoding="utf-8")
    publish_files([path])
    # Same birth date, different zones: 10:00 in each customer's own zone.
    world.customer("seoul", has_children=True, timezone="Asia/Seoul")
    world.customer("london", has_children=True, timezone="Europe/London")
    world.customer("single", has_children=False, birth_date=date(1990, 2, 3))
    world.customer("unborn", has_children=False, birth_date=None)
    assert enter_matching("routed") == 4
    got = _entered("routed")
    assert got["seoul"][0] == got["london"][0] == "family"
    assert got["single"][0] == got["unborn"][0] == "single"
    assert got["seoul"][7:] == (["enrollment:E:1:0"], ["cross_sell"])
    assert got["single"][7:] == ([], [])
    dues = {cid: [due for _, _, due, _ in got[cid][6]] for cid in got}
    # The date as it is (a birth date is in the past: such a timer is due at once).
    assert dues["seoul"] == [pendulum.datetime(1988, 5, 17, 10, tz="Asia/Seoul")]
    assert dues["london"] == [pendulum.datetime(1988, 5, 17, 10, tz="Europe/London")]
    assert dues["single"] == [pendulum.datetime(1990, 2, 2, 9, tz="Asia/Seoul")]
    assert dues["unborn"] == []  # no date, no timer: the engine does the same


def test_a_failed_page_leaves_whole_pages_and_a_second_run_enters_the_rest(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "PAGE", 5)
    for n in range(23):
        world.customer(f"F{n:03d}")
    write = bulk._write

    def failing_page(conn: Any, rows: Any) -> None:
        write(conn, rows)  # written, then the page's transaction is rolled back
        if any(row[3] == "F010" for row in rows.enrollments):
            raise RuntimeError("the connection broke")

    monkeypatch.setattr(bulk, "_write", failing_page)
    with pytest.raises(RuntimeError, match="the connection broke"):
        enter_matching("newsletter", connections=2)
    partial = _entered("newsletter")
    assert len(partial) % 5 == 0 and 0 < len(partial) < 23
    for state, *_, moves, timers, keys, _ in partial.values():
        assert len(moves) == 2 and len(timers) == 1 and len(keys) == (state == "send")
    monkeypatch.setattr(bulk, "_write", write)
    assert enter_matching("newsletter", connections=2) == 23 - len(partial)
    assert len(_entered("newsletter")) == 23


def test_a_customer_the_engine_enrolled_meanwhile_is_left_in_place(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(6):
        world.customer(f"R{n}")
    may_enter, checks = bulk._may_enter, []

    def stale_check(conn: Any, compiled: Any, page: list[Any], now: Any) -> list[Any]:
        # The first check runs before the engine's enrollment is committed: it sees none.
        checks.append(len(page))
        return page if len(checks) == 1 else may_enter(conn, compiled, page, now)

    enter_matching("newsletter", {"customer.customer_id": "R3"})
    monkeypatch.setattr(bulk, "_may_enter", stale_check)
    assert enter_matching("newsletter") == 5
    assert checks == [6, 6]
    assert len(world.enrollments("newsletter", "R3")) == 1
    assert len(_entered("newsletter")) == 6
