"""Segments: published from YAML, kept up to date per event and in bulk, with history
and events journeys can use."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from sqlalchemy import event
from sqlmodel import col, select

from automation import clock
from automation.db import get_engine, session_scope
from automation.models import Customer, Event, SegmentChange, SegmentMember
from automation.segments import registry
from automation.segments.membership import refresh
from automation.segments.spec import SegmentSpecError, load_text
from tests.journey_world import World


def _members(segment: str) -> list[str]:
    with session_scope() as s:
        rows = s.exec(select(SegmentMember).where(SegmentMember.segment_id == segment))
        return sorted(r.customer_id for r in rows)


def _events(type_: str) -> list[Event]:
    with session_scope() as s:
        return list(s.exec(select(Event).where(Event.type == type_).order_by(col(Event.id))))


def _history(segment: str) -> list[tuple[str, bool, str]]:
    with session_scope() as s:
        rows = s.exec(
            select(SegmentChange)
            .where(SegmentChange.segment_id == segment)
            .order_by(col(SegmentChange.id))
        )
        return [(r.customer_id, r.entered, r.cause) for r in rows]


def test_a_customer_enters_and_leaves_as_events_arrive(database: str) -> None:
    world = World(builtin=False)
    registry.publish_builtin()
    world.customer("C1")
    for _ in range(4):
        world.send("product_view", "C1", product="EDU-CARE")  # +5 each: 20 points
    assert _members("prospect") == []
    world.send("quote_request", "C1")  # +30: a prospect score of 50
    assert _members("prospect") == ["C1"]
    entered = [e for e in _events("segment_entered") if e.properties["segment"] == "prospect"]
    assert len(entered) == 1 and entered[0].customer_id == "C1"
    assert {e.properties["segment"] for e in _events("segment_entered")} >= {"member", "regular"}
    world.send("policy_purchased", "C1", policy_id="P1", product="EDU-CARE")
    assert _members("prospect") == [] and _members("customer") == ["C1"]
    assert _history("prospect") == [("C1", True, "event"), ("C1", False, "event")]
    assert sorted(e.properties["segment"] for e in _events("segment_exited")) == [
        "member",
        "prospect",
    ]


def test_time_alone_moves_customers_out_at_the_next_refresh(database: str) -> None:
    world = World(builtin=False)
    registry.publish_builtin()
    world.customer("C1")
    world.send("email_clicked", "C1")
    assert _members("recently-clicked") == ["C1"]
    clock.advance(timedelta(days=8))
    result = refresh("recently-clicked")
    assert (result.members, result.entered, result.exited) == (0, 0, 1)
    assert _history("recently-clicked")[-1] == ("C1", False, "refresh")
    assert refresh("recently-clicked").exited == 0  # nothing changed: nothing recorded


def test_the_first_fill_records_members_without_events_later_refreshes_emit(
    database: str,
) -> None:
    world = World(builtin=False)
    for i in range(5):
        world.customer(f"C{i}", has_children=i % 2 == 0)
    [spec] = load_text("segment: parents\nwhen: {customer.has_children: true}\n")
    registry.publish_specs([spec])
    first = refresh("parents")
    assert (first.members, first.entered, first.events) == (3, 3, 0)
    with session_scope() as s:
        c = s.get(Customer, "C1")
        assert c is not None
        c.has_children = True
        s.add(c)
    second = refresh("parents")
    assert (second.members, second.entered, second.events) == (4, 1, 1)
    assert [e.customer_id for e in _events("segment_entered")] == ["C1"]


def test_a_counting_segment_is_filled_then_refreshed_in_bulk(database: str) -> None:
    world = World(builtin=False)
    for cid in ("C1", "C2", "C3", "C4"):
        world.customer(cid)
    for cid, views in (("C3", 3), ("C1", 3), ("C2", 1)):
        if cid == "C1":
            clock.advance(timedelta(days=40))  # C3's views are out of the window by now
        for _ in range(views):
            world.send("product_view", cid, product="EDU-CARE")
    registry.publish_specs(
        load_text(
            "segments:\n"
            "  - segment: browsers\n"
            "    when: {events: {type: product_view, within: 30d, count: {gte: 2}}}\n"
            "  - segment: idle\n"  # 0 passes: customers without any view are in
            "    when: {events: {type: product_view, within: 30d, count: {lt: 2}}}\n"
        )
    )
    first = refresh("browsers")
    assert (first.members, first.entered, first.exited, first.events) == (1, 1, 0, 0)
    assert _history("browsers") == [("C1", True, "refresh")]
    assert refresh("idle").members == 3 and _members("idle") == ["C2", "C3", "C4"]
    assert sorted(_history("idle")) == [(c, True, "refresh") for c in ("C2", "C3", "C4")]
    assert _events("segment_entered") == []  # first fills are silent
    clock.advance(timedelta(days=31))  # C1's views leave the window too
    out, into = refresh("browsers"), refresh("idle")
    assert (out.members, out.entered, out.exited, out.events) == (0, 0, 1, 1)
    assert (into.members, into.entered, into.exited, into.events) == (4, 1, 0, 1)
    assert _history("browsers") == [("C1", True, "refresh"), ("C1", False, "refresh")]
    assert _history("idle")[-1] == ("C1", True, "refresh")
    [left] = _events("segment_exited")
    assert (left.customer_id, left.properties["segment"]) == ("C1", "browsers")
    [joined] = _events("segment_entered")
    assert (joined.customer_id, joined.properties["segment"]) == ("C1", "idle")
    again = refresh("browsers"), refresh("idle")
    assert [(r.entered, r.exited, r.events) for r in again] == [(0, 0, 0), (0, 0, 0)]


def test_segment_files_are_validated_with_lines() -> None:
    text = "segments:\n  - segment: ok\n    when: {customer.age: {gte: 30}}\n"
    text += "  - segment: bad\n    when:\n      event.product: X\n"
    try:
        load_text(text, "s.yaml")
    except SegmentSpecError as exc:
        assert exc.problems == [
            "s.yaml:6: event.product is not available here: "
            "segments select customers without an event"
        ]
    else:
        raise AssertionError("an event field in a segment was accepted")


def test_three_unopened_emails_make_a_customer_email_unresponsive(database: str) -> None:
    world = World(builtin=False)
    registry.publish_builtin()
    world.customer("C1")
    for n in range(3):
        world.send("email_sent", "C1", message_id=n)
    assert "C1" in _members("email-unresponsive")
    world.send("email_clicked", "C1", message_id=1, suspected_bot=True)  # a scanner
    assert "C1" in _members("email-unresponsive")
    world.send("email_opened", "C1", message_id=2)
    assert "C1" not in _members("email-unresponsive")


def test_a_segment_built_on_another_follows_it(database: str) -> None:
    from datetime import date

    world = World(builtin=False)
    registry.publish_builtin()
    [spec] = load_text(
        "segment: engaged-parents\n"
        "when:\n  in_segment: young-parents\n  did: {type: email_clicked, within: 7d}\n"
    )
    registry.publish_specs([spec])
    world.customer("P1", has_children=True, birth_date=date(1992, 3, 1))
    world.customer("N1", has_children=False, birth_date=date(1992, 3, 1))
    world.send("login", "P1")
    world.send("login", "N1")
    assert "P1" in _members("young-parents")
    world.send("email_clicked", "P1")
    world.send("email_clicked", "N1")
    assert _members("engaged-parents") == ["P1"]
    with session_scope() as s:  # P1's children grew up, as far as the data knows
        c = s.get(Customer, "P1")
        assert c is not None
        c.has_children = False
        s.add(c)
    refresh("young-parents")
    world.process()  # the segment_exited event re-checks the segments built on it
    assert _members("engaged-parents") == []
    assert refresh("engaged-parents").exited == 0  # SQL agrees with what events did


def test_a_segment_cannot_be_defined_by_itself() -> None:
    try:
        load_text("segment: loop\nwhen: {not_in_segment: loop}\n", "loop.yaml")
    except SegmentSpecError as exc:
        assert exc.problems == [
            "loop.yaml:2: segment 'loop' cannot be defined by its own membership"
        ]
    else:
        raise AssertionError("a self-referencing segment was accepted")


def test_a_refresh_beside_a_worker_never_fails_its_chunk(postgres_database: str) -> None:
    """The segments job's refresh and a worker's segment step may enter the same customer
    at once (separate processes on PostgreSQL): whichever inserts second does nothing,
    the event is processed, and the entry is recorded once."""
    world = World(builtin=False)
    registry.publish_builtin()
    world.customer("C1")
    for _ in range(4):
        world.send("product_view", "C1", product="EDU-CARE")  # 20 points: not yet a prospect
    engine = get_engine()
    raced: list[str] = []

    def refresh_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO segment_members") and not raced:
            raced.append(statement)  # the refresh commits the same entry just before
            with psycopg.connect(postgres_database.replace("+psycopg", "")) as other:
                other.execute(
                    "INSERT INTO segment_members (segment_id, customer_id, entered_at) "
                    "VALUES ('prospect', 'C1', now())"
                )

    event.listen(engine, "before_cursor_execute", refresh_first)
    try:
        world.send("quote_request", "C1")  # +30: a prospect score of 50
    finally:
        event.remove(engine, "before_cursor_execute", refresh_first)
    assert raced, "the step never inserted a membership"
    assert _members("prospect") == ["C1"]
    with session_scope() as s:
        failed = s.exec(select(Event).where(col(Event.last_error).is_not(None))).all()
        assert failed == []
    assert _history("prospect") == []  # the refresh, not this step, made (and records) it
    assert not [e for e in _events("segment_entered") if e.properties["segment"] == "prospect"]


def test_a_redefined_segment_counts_from_the_next_event_in_the_same_process(
    database: str,
) -> None:
    world = World(builtin=False)

    def define(count: int) -> None:
        when = f"events: {{type: email_clicked, within: 7d, count: {{gte: {count}}}}}"
        [spec] = load_text(f"segment: clickers\nwhen:\n  {when}\n")
        registry.publish_specs([spec])

    define(1)
    world.customer("C1")
    world.send("email_clicked", "C1")
    assert _members("clickers") == ["C1"]
    # Marketing ops narrow it to three clicks from another process (the console): a
    # worker still holds the old definition compiled, and must check the next click
    # against the new one (two clicks: out). Publishing here clears this process's
    # cache, so the worker's is put back.
    held = dict(registry._compiled)
    define(3)
    registry._compiled.update(held)
    world.send("email_clicked", "C1")
    assert _members("clickers") == []
    assert _history("clickers") == [("C1", True, "event"), ("C1", False, "event")]
