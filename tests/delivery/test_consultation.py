"""A consultation request opens a call within minutes, through the shipped
``consultation`` journey: the customer asked, so no consent, night rule or cap holds it
back (a do-not-call customer excepted), and the agent's outcome moves the journey."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from automation import clock
from automation.api import create_app, keys
from automation.config import reset_settings
from automation.db import session_scope
from automation.delivery import call_center
from automation.delivery.deliver import deliver
from automation.delivery.queues import REQUESTED
from automation.models import CallTask, Message
from tests.journey_world import World

SEOUL = "Asia/Seoul"


def _calls(customer_id: str = "C1") -> list[Message]:
    with session_scope() as s:
        query = select(Message).where(Message.channel == "call", Message.customer_id == customer_id)
        return list(s.exec(query.order_by(col(Message.id))))


def _delivered_task(message: Message) -> CallTask:
    assert message.id is not None
    assert deliver(message.id).status == "sent"
    with session_scope() as s:
        return s.exec(select(CallTask).where(CallTask.message_id == message.id)).one()


@pytest.fixture
def agent(database: str) -> tuple[TestClient, dict[str, str]]:
    return TestClient(create_app()), {"X-API-Key": keys.create_key("agent", "agent-kim")}


def test_a_request_opens_a_call_within_minutes_and_the_outcome_moves_the_journey(
    agent: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOMATION_CONSULTATION_DUE_MINUTES", "15")
    reset_settings()
    client, kim = agent
    world = World()
    # No call or advertising consent: the customer asked, so the consultation opens.
    world.customer("C1", mobile="010-1234-5678", call_consent=False, ad_consent=False)
    world.send("product_view", product="EDU-CARE", url="/products/EDU-CARE")
    world.send("consultation_request", url="/consultation")
    [call] = _calls()
    assert call.journey_id == "consultation" and call.payload["queue"] == "consultation"
    task = _delivered_task(call)
    with session_scope() as s:
        stored = s.get(Message, call.id)
        assert stored is not None and stored.reason == REQUESTED
    assert task.queue == "consultation" and task.priority == "high"
    assert task.due_at == clock.now() + timedelta(minutes=15)
    assert [p["product"] for p in task.report["top_products"]] == ["EDU-CARE"]

    listed = client.get("/v1/tasks", params={"queue": "consultation"}, headers=kim).json()
    [row] = listed["tasks"]
    assert row["outcomes"] == [
        "reached",
        "not_reached",
        "interested",
        "appointment",
        "sold",
        "do_not_call",
    ]
    assert row["category"] is None and row["report"]["top_products"]
    assert client.post(f"/v1/tasks/{task.id}/claim", headers=kim).status_code == 200
    done = client.post(
        f"/v1/tasks/{task.id}/outcome", json={"outcome": "appointment"}, headers=kim
    ).json()
    assert done["event_id"] == f"call:{task.id}" and done["event_status"] == "accepted"
    world.process()
    assert world.enrollment("consultation").state == "follow_up"
    # No purchase after the talk: a recommendation, three days later.
    world.after(days=3)
    assert world.messages(journey="consultation")[-1] == ("email", "product_recommendation")


def test_nobody_answered_then_a_second_call_in_business_hours(database: str) -> None:
    world = World()
    world.customer("C1", mobile="010-1234-5678")
    clock.freeze(pendulum.datetime(2026, 11, 6, 17, 30, tz=SEOUL))  # a Friday, late
    world.send("consultation_request")
    task = _delivered_task(_calls()[0])
    call_center.claim(task.id or 0, "kim")
    call_center.record_outcome(task.id or 0, "kim", "not_reached", None)
    world.process()
    assert world.enrollment("consultation").state == "call_again"
    world.after(hours=3)  # Friday 20:30: the retry waits for Monday's opening
    assert world.enrollment("consultation").state == "call_again"
    clock.freeze(pendulum.datetime(2026, 11, 9, 9, 1, tz=SEOUL))
    world.tick()
    assert world.enrollment("consultation").state == "second_call"
    assert len(_calls()) == 2


def test_a_do_not_call_customer_is_never_called_for_a_consultation(database: str) -> None:
    world = World()
    world.customer("C1", mobile="010-1234-5678", attributes={"do_not_call": True})
    world.send("consultation_request")
    [call] = _calls()
    assert call.id is not None
    outcome = deliver(call.id)
    assert (outcome.status, outcome.reason) == ("suppressed", "do_not_call")
    with session_scope() as s:
        assert s.exec(select(CallTask)).first() is None


def test_a_requested_call_does_not_count_against_the_marketing_caps(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOMATION_CAP_CALL_DAY", "1")
    monkeypatch.setenv("AUTOMATION_CAP_TOTAL_DAY", "1")
    reset_settings()
    world = World()
    world.customer("C1", mobile="010-1234-5678", call_consent=True)
    world.send("consultation_request")
    consultation = _calls()[0]
    _delivered_task(consultation)
    # A marketing call decided the same day still goes: the consultation was asked for.
    with session_scope() as s:
        marketing = Message(
            idempotency_key="sales-1",
            customer_id="C1",
            channel="call",
            journey_id="conversion-ladder",
            payload={"queue": "sales", "priority": "normal", "due_at": clock.now().isoformat()},
        )
        s.add(marketing)
        s.flush()
        marketing_id = marketing.id
    assert marketing_id is not None
    assert deliver(marketing_id).status == "sent"
