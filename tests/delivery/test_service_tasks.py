"""Complaints and inquiries through the shipped ``service-desk`` journey: a service task
with the customer's category and text, due within business hours, answered with the
service outcomes as a ``service_completed`` event; a complaint pauses advertising;
the service report's figures."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pendulum
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select
from typer.testing import CliRunner

from automation import clock
from automation.api import create_app, keys
from automation.cli import app as cli
from automation.db import session_scope
from automation.delivery import call_center
from automation.delivery.deliver import deliver
from automation.models import CallTask, Customer, Event, Message
from automation.reports.period import Period
from automation.reports.service import service_report
from tests.journey_world import World
from tests.peers import Mailbox, smtp_server_running
from tests.review_items import queued_message

SEOUL = "Asia/Seoul"
TEXT = "보험금 청구 후 2주째 연락이 없습니다."


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_server_running(monkeypatch) as box:
        yield box


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(create_app())


def _open_tasks(world: World) -> list[CallTask]:
    """Deliver the decided call messages (the worker's part) and return the tasks."""
    with session_scope() as s:
        calls = s.exec(
            select(Message.id).where(Message.channel == "call", Message.status == "queued")
        ).all()
    for mid in calls:
        assert mid is not None and deliver(mid).status == "sent"
    with session_scope() as s:
        return list(s.exec(select(CallTask).order_by(col(CallTask.id))))


def test_a_friday_evening_complaint_is_due_monday_and_answered_resolved(
    client: TestClient,
) -> None:
    kim = {"X-API-Key": keys.create_key("agent", "agent-kim")}
    world = World()
    world.customer("C1", mobile="010-1234-5678", call_consent=False)
    clock.freeze(pendulum.datetime(2026, 11, 6, 20, 0, tz=SEOUL))  # Friday evening
    world.send("complaint", category="claim", text=TEXT)
    [task] = _open_tasks(world)
    assert (task.queue, task.category, task.request_text) == ("service", "claim", TEXT)
    # Four business hours (the default): Monday 09:00–13:00.
    assert task.due_at == pendulum.datetime(2026, 11, 9, 13, 0, tz=SEOUL)

    [row] = client.get("/v1/tasks", params={"queue": "service"}, headers=kim).json()["tasks"]
    assert row["outcomes"] == ["resolved", "escalated", "callback"]
    assert (row["category"], row["text"]) == ("claim", TEXT)
    client.post(f"/v1/tasks/{task.id}/claim", headers=kim)
    wrong = client.post(f"/v1/tasks/{task.id}/outcome", json={"outcome": "sold"}, headers=kim)
    assert wrong.status_code == 422
    assert "one of resolved, escalated, callback" in wrong.json()["detail"]
    done = client.post(f"/v1/tasks/{task.id}/outcome", json={"outcome": "resolved"}, headers=kim)
    assert done.status_code == 200 and done.json()["event_id"] == f"service:{task.id}"
    again = client.post(f"/v1/tasks/{task.id}/outcome", json={"outcome": "resolved"}, headers=kim)
    assert again.json()["recorded"] is False and again.json()["event_status"] == "duplicate"
    with session_scope() as s:
        [event] = s.exec(select(Event).where(Event.type == "service_completed")).all()
    assert event.properties["category"] == "claim" and event.properties["outcome"] == "resolved"
    world.process()
    assert world.enrollment("service-desk").status == "completed"


def test_a_complaint_pauses_advertising_while_other_mail_still_goes(
    database: str, mailbox: Mailbox
) -> None:
    world = World()
    world.customer("C1", mobile="010-1234-5678")
    world.send("complaint", category="service", text="상담 연결이 너무 오래 걸렸습니다.")
    with session_scope() as s:
        customer = s.get(Customer, "C1")
        assert customer is not None and customer.attributes.get("complained_at")
    advert = queued_message("ad-1", "email", "retention_offer", "maturity-retention")
    notice = queued_message("notice-1", "email", "policy_anniversary", "anniversary-greeting")
    ad_end = deliver(advert)
    assert (ad_end.status, ad_end.reason) == ("suppressed", "complaint_pause")
    assert deliver(notice).status == "sent"
    assert len(mailbox.received) == 1 and "(광고)" not in mailbox.received[0]["Subject"]
    [task] = _open_tasks(world)  # the service task opens too: it is our own work
    assert task.queue == "service" and task.category == "service"


def test_an_inquiry_from_the_site_opens_a_task_and_a_callback_a_second(
    client: TestClient,
) -> None:
    site = {"X-API-Key": keys.create_key("ingest", "site")}
    world = World()
    world.customer("C1", mobile="010-1234-5678")
    event = {
        "event_id": "inq-1",
        "type": "inquiry",
        "customer_id": "C1",
        "properties": {"category": "payment", "text": "자동이체 날짜 변경"},
    }
    assert client.post("/v1/events", json=event, headers=site).status_code == 202
    world.process()
    [task] = _open_tasks(world)
    assert (task.queue, task.category, task.request_text) == (
        "service",
        "payment",
        "자동이체 날짜 변경",
    )
    call_center.claim(task.id or 0, "kim")
    call_center.record_outcome(task.id or 0, "kim", "callback", "다시 전화 요청")
    world.process()
    assert world.enrollment("service-desk").state == "callback"
    _first, second = _open_tasks(world)
    assert (second.queue, second.category, second.request_text) == (
        "service",
        "payment",
        "자동이체 날짜 변경",
    )


def test_a_complaint_without_a_category_is_refused_with_its_reason(client: TestClient) -> None:
    site = {"X-API-Key": keys.create_key("ingest", "site")}
    system = {"X-API-Key": keys.create_key("system", "core")}
    bad = {"event_id": "c-1", "type": "complaint", "customer_id": "C1", "properties": {}}
    refused = client.post("/v1/events", json=bad, headers=site)
    assert refused.status_code == 422
    assert "a complaint event needs properties.category" in refused.text
    long = {**bad, "event_id": "c-2", "properties": {"category": "claim", "text": "가" * 2001}}
    too_long = client.post("/v1/events", json=long, headers=system)
    assert too_long.status_code == 422
    assert "properties.text is longer than 2000 characters" in too_long.text
    good = {**bad, "event_id": "c-3", "properties": {"category": "claim"}}
    assert client.post("/v1/events", json=good, headers=system).status_code == 202
    forged = {
        "event_id": "s-1",
        "type": "service_completed",
        "customer_id": "C1",
        "properties": {"outcome": "resolved", "category": "claim"},
    }
    assert client.post("/v1/events", json=forged, headers=site).status_code == 422


def _task(
    n: int, category: str | None, opened: datetime, closed: datetime | None, outcome: str = ""
) -> None:
    with session_scope() as s:
        if s.get(Customer, "C1") is None:
            s.add(Customer(customer_id="C1"))
        message = Message(idempotency_key=f"svc-{n}", customer_id="C1", channel="call")
        s.add(message)
        s.flush()
        assert message.id is not None
        s.add(
            CallTask(
                message_id=message.id,
                customer_id="C1",
                queue="service",
                priority="high",
                due_at=opened + timedelta(hours=4),
                category=category,
                status="done" if closed else "open",
                outcome=outcome or None,
                created_at=opened,
                completed_at=closed,
            )
        )


def test_the_service_report_counts_by_category_and_time_to_close(database: str) -> None:
    day = pendulum.datetime(2026, 11, 2, 10, 0, tz=SEOUL)
    clock.freeze(day.add(days=20))
    for n, hours in enumerate((1, 2, 3, 10)):
        _task(n, "claim", day, day.add(hours=hours), "resolved" if n < 3 else "escalated")
    _task(10, "claim", day.add(days=1), None)  # still open
    _task(11, "payment", day, day.add(hours=5), "callback")
    _task(12, None, day.subtract(days=40), None)  # opened before the period, still open
    _task(13, "claim", day.subtract(days=40), day.subtract(days=39), "resolved")  # not counted
    with session_scope() as s:  # a call task of another queue is not the desk's
        message = Message(idempotency_key="sales-1", customer_id="C1", channel="call")
        s.add(message)
        s.flush()
        assert message.id is not None
        s.add(
            CallTask(
                message_id=message.id,
                customer_id="C1",
                queue="sales",
                priority="normal",
                due_at=day,
            )
        )
    report = service_report(Period(date(2026, 11, 1), date(2026, 11, 30)))
    by = {c["category"]: c for c in report["categories"]}
    assert set(by) == {"claim", "payment", "(none)"}
    assert by["claim"] == {
        "category": "claim",
        "opened": 5,
        "closed": 4,
        "open_now": 1,
        "median_hours": 2.5,
        "p90_hours": 7.9,  # 3 + 0.7 × (10 − 3)
        "outcomes": {"resolved": 3, "escalated": 1, "callback": 0},
    }
    assert by["payment"]["closed"] == 1 and by["payment"]["median_hours"] == 5.0
    assert by["(none)"] == {
        "category": "(none)",
        "opened": 0,
        "closed": 0,
        "open_now": 1,
        "median_hours": None,
        "p90_hours": None,
        "outcomes": {"resolved": 0, "escalated": 0, "callback": 0},
    }
    assert report["total"]["opened"] == 6 and report["total"]["open_now"] == 2
    # The same figures as a manager reads them: the CLI's CSV and the HTTP route.
    period = ["--from", "2026-11-01", "--to", "2026-11-30"]
    result = CliRunner().invoke(cli, ["report", "service", *period, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["category"]: r for r in csv.DictReader(io.StringIO(result.output))}
    assert rows["claim"]["median_hours"] == "2.5" and rows["claim"]["escalated"] == "1"
    assert rows["all"]["opened"] == "6" and rows["all"]["open_now"] == "2"
    table = CliRunner().invoke(cli, ["report", "service", *period], env={"COLUMNS": "160"})
    assert "claim" in table.output and "hours from opening" in table.output
    headers = {"X-API-Key": keys.create_key("admin", "manager")}
    answer = TestClient(create_app()).get(
        "/v1/reports/service?from=2026-11-01&to=2026-11-30", headers=headers
    )
    assert answer.status_code == 200
    assert {r["category"]: r["callback"] for r in answer.json()["rows"]}["payment"] == 1
    page = TestClient(create_app()).get(
        "/v1/reports/service?from=2026-11-01&to=2026-11-30&format=html", headers=headers
    )
    assert "고객 서비스" in page.text and "claim" in page.text
