"""Attribution: last touch and first touch inside the window, scanners ignored, and a
journey's goal knows which message led there."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.models import Attribution, Enrollment, Message
from tests.journey_world import World, customer_in


def _message(key: str, template: str, channel: str = "email") -> int:
    with session_scope() as s:
        m = Message(
            idempotency_key=key,
            customer_id="C1",
            channel=channel,
            template=template,
            journey_id="j-" + key,
            status="sent",
        )
        s.add(m)
        s.flush()
        assert m.id is not None
        return m.id


def _credits() -> dict[str, int]:
    with session_scope() as s:
        rows = s.exec(select(Attribution).order_by(col(Attribution.id)))
        return {r.model: r.message_id for r in rows}


def test_last_and_first_touch_inside_the_window_at_its_edges(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1")
    old, edge, scanner, recent = (_message(k, k) for k in ("old", "edge", "scan", "recent"))
    start = clock.now()
    world.send("email_clicked", "C1", message_id=old)  # 30 days + 1 s before: outside
    clock.advance(timedelta(seconds=1))
    world.send("email_opened", "C1", message_id=edge)  # exactly 30 days before: inside
    clock.advance(timedelta(days=25))
    world.send("email_clicked", "C1", message_id=recent)
    clock.advance(timedelta(days=4))
    world.send("email_clicked", "C1", message_id=scanner, suspected_bot=True)  # not human
    clock.freeze(start + timedelta(days=30, seconds=1))
    world.send("policy_purchased", "C1", policy_id="P1")
    assert _credits() == {"first_touch": edge, "last_touch": recent}


def test_no_engagement_no_credit_and_a_call_that_reached_counts(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1")
    world.send("policy_purchased", "C1", policy_id="P1")
    assert _credits() == {}
    call = _message("call", "call", channel="call")
    world.send("call_completed", "C1", outcome="not_reached", message_id=call)
    world.send("policy_renewed", "C1", policy_id="P1")
    assert _credits() == {}
    world.send("call_completed", "C1", outcome="interested", message_id=call)
    world.send("policy_purchased", "C1", policy_id="P2")
    assert _credits() == {"first_touch": call, "last_touch": call}


def test_a_journey_goal_records_the_message_that_led_there(database: str) -> None:
    world = World()  # the built-in journeys
    cid = customer_in("offer")
    world.customer(cid)
    world.policy("P1", cid, clock.now().date() + timedelta(days=20))
    world.send("policy_maturity_approaching", cid, policy_id="P1")
    enrollment = world.enrollment("maturity-retention", cid)
    offer = enrollment.last_message_id
    assert offer is not None and not enrollment.control
    world.send("email_clicked", cid, policy_id="P1", message_id=offer)
    world.send("policy_renewed", cid, policy_id="P1")
    with session_scope() as s:
        done = s.get(Enrollment, enrollment.id)
        assert done is not None
    assert done.status == "converted"
    assert done.context["attribution"] == {"first_touch": offer, "last_touch": offer}
