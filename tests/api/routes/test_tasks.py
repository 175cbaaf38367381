"""The call-center queue: listing, claiming (one agent per task) and outcomes."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from automation import clock, db
from automation.api import create_app, keys
from automation.delivery import call_center
from automation.models import CallTask, Customer, Event, Message

ALLOWED = "reached, not_reached, interested, appointment, sold, do_not_call"


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(create_app())


@pytest.fixture
def kim(database: str) -> dict[str, str]:
    return {"X-API-Key": keys.create_key("agent", "agent-kim")}


@pytest.fixture
def lee(database: str) -> dict[str, str]:
    return {"X-API-Key": keys.create_key("agent", "agent-lee")}


def make_task(
    n: int,
    priority: str = "normal",
    due_in: timedelta = timedelta(hours=1),
    queue: str = "retention",
) -> int:
    """Customer C<n>, a call message and its open task."""
    with db.session_scope() as s:
        s.add(Customer(customer_id=f"C{n}", name=f"고객{n}", mobile=f"010-0000-{n:04d}"))
        s.flush()
        m = Message(
            idempotency_key=f"call:{n}",
            enrollment_id=None,
            customer_id=f"C{n}",
            journey_id="maturity-retention",
            version_id=1,
            state="consultant_call",
            channel="call",
            status="sent",
        )
        s.add(m)
        s.flush()
        assert m.id is not None
        task = CallTask(
            message_id=m.id,
            customer_id=f"C{n}",
            queue=queue,
            priority=priority,
            due_at=clock.now() + due_in,
            journey_id="maturity-retention",
            state="consultant_call",
            report={"recent_products": ["EDU-CARE"], "visits_90d": n},
        )
        s.add(task)
        s.flush()
        assert task.id is not None
        return task.id


def calls() -> list[Event]:
    with db.session_scope() as s:
        return list(s.exec(select(Event).where(Event.type == "call_completed")).all())


def test_tasks_are_listed_by_priority_then_due_time(
    client: TestClient, kim: dict[str, str]
) -> None:
    low = make_task(1, "low", timedelta(minutes=5))
    high_late = make_task(2, "high", timedelta(hours=5))
    normal = make_task(3, "normal", timedelta(minutes=5))
    high_soon = make_task(4, "high", timedelta(hours=1))
    other_queue = make_task(5, "high", timedelta(minutes=1), queue="welcome")
    response = client.get("/v1/tasks", headers=kim)
    assert response.status_code == 200
    tasks = response.json()["tasks"]
    assert [t["id"] for t in tasks] == [other_queue, high_soon, high_late, normal, low]
    first = tasks[1]
    assert first["customer"] == {"customer_id": "C4", "name": "고객4", "mobile": "010-0000-0004"}
    assert first["reason"] == {"journey_id": "maturity-retention", "state": "consultant_call"}
    assert first["report"] == {"recent_products": ["EDU-CARE"], "visits_90d": 4}
    assert first["due_at"].endswith("+00:00")
    by_queue = client.get("/v1/tasks", params={"queue": "retention", "limit": 2}, headers=kim)
    assert [t["id"] for t in by_queue.json()["tasks"]] == [high_soon, high_late]


def test_listing_filters_by_status(
    client: TestClient, kim: dict[str, str], lee: dict[str, str]
) -> None:
    first, second = make_task(1), make_task(2)
    client.post(f"/v1/tasks/{first}/claim", headers=kim)
    assert [t["id"] for t in client.get("/v1/tasks", headers=lee).json()["tasks"]] == [second]
    claimed = client.get("/v1/tasks", params={"status": "claimed"}, headers=lee).json()["tasks"]
    assert [(t["id"], t["claimed_by"]) for t in claimed] == [(first, "agent-kim")]
    bad = client.get("/v1/tasks", params={"status": "mine"}, headers=kim)
    assert bad.status_code == 422 and "open, claimed, done" in bad.json()["detail"]


def test_one_task_one_agent(client: TestClient, kim: dict[str, str], lee: dict[str, str]) -> None:
    task = make_task(1)
    won = client.post(f"/v1/tasks/{task}/claim", headers=kim)
    assert won.status_code == 200
    assert won.json()["task"]["status"] == "claimed"
    assert won.json()["task"]["claimed_by"] == "agent-kim"
    lost = client.post(f"/v1/tasks/{task}/claim", headers=lee)
    assert lost.status_code == 409
    assert "agent-kim" in lost.json()["detail"]
    again = client.post(f"/v1/tasks/{task}/claim", headers=kim)
    assert again.status_code == 200
    assert again.json()["task"]["claimed_at"] == won.json()["task"]["claimed_at"]


def race(client: TestClient, task: int, agents: dict[str, dict[str, str]]) -> dict[str, int]:
    """Every agent claims ``task`` at the same moment; their status codes."""
    start = threading.Barrier(len(agents))
    codes: dict[str, int] = {}

    def claim(name: str, headers: dict[str, str]) -> None:
        start.wait()
        codes[name] = client.post(f"/v1/tasks/{task}/claim", headers=headers).status_code

    threads = [threading.Thread(target=claim, args=item) for item in agents.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_concurrent_claims_have_one_winner(
    client: TestClient, kim: dict[str, str], lee: dict[str, str]
) -> None:
    for task in [make_task(n) for n in range(1, 6)]:
        codes = race(client, task, {"agent-kim": kim, "agent-lee": lee})
        assert sorted(codes.values()) == [200, 409]
        [winner] = [name for name, code in codes.items() if code == 200]
        with db.session_scope() as s:
            row = s.get(CallTask, task)
            assert row is not None and row.claimed_by == winner


def test_an_outcome_closes_the_task_and_emits_one_call_completed(
    client: TestClient, kim: dict[str, str]
) -> None:
    task = make_task(1)
    client.post(f"/v1/tasks/{task}/claim", headers=kim)
    body = {"outcome": "appointment", "notes": "12월 3일 14시 방문 상담"}
    done = client.post(f"/v1/tasks/{task}/outcome", json=body, headers=kim)
    assert done.status_code == 200
    answer = done.json()
    assert answer["recorded"] is True and answer["event_id"] == f"call:{task}"
    assert answer["task"]["status"] == "done" and answer["task"]["outcome"] == "appointment"
    assert answer["task"]["completed_at"] is not None
    repeat = client.post(f"/v1/tasks/{task}/outcome", json=body, headers=kim)
    assert repeat.status_code == 200
    assert repeat.json()["recorded"] is False and repeat.json()["event_status"] == "duplicate"
    [event] = calls()
    assert (event.event_id, event.customer_id, event.source) == (f"call:{task}", "C1", "agent")
    props = event.properties
    assert props["outcome"] == "appointment" and props["notes"] == body["notes"]
    assert props["task_id"] == task and props["queue"] == "retention"
    assert props["journey_id"] == "maturity-retention" and props["agent"] == "agent-kim"
    assert "message_id" in props and props["enrollment_id"] is None
    changed = client.post(f"/v1/tasks/{task}/outcome", json={"outcome": "sold"}, headers=kim)
    assert changed.status_code == 409
    assert "appointment" in changed.json()["detail"]
    assert len(calls()) == 1


def test_do_not_call_is_processed_at_once(client: TestClient, kim: dict[str, str]) -> None:
    task = make_task(1)
    client.post(f"/v1/tasks/{task}/claim", headers=kim)
    response = client.post(
        f"/v1/tasks/{task}/outcome", json={"outcome": "do_not_call"}, headers=kim
    )
    assert response.status_code == 200
    [event] = calls()
    assert event.processed_at is not None and event.last_error is None


def test_only_the_holder_records_an_outcome(
    client: TestClient, kim: dict[str, str], lee: dict[str, str]
) -> None:
    task = make_task(1)
    unclaimed = client.post(f"/v1/tasks/{task}/outcome", json={"outcome": "reached"}, headers=kim)
    assert unclaimed.status_code == 409 and "claim it first" in unclaimed.json()["detail"]
    client.post(f"/v1/tasks/{task}/claim", headers=kim)
    stolen = client.post(f"/v1/tasks/{task}/outcome", json={"outcome": "sold"}, headers=lee)
    assert stolen.status_code == 409
    assert "agent-kim" in stolen.json()["detail"]
    client.post(f"/v1/tasks/{task}/outcome", json={"outcome": "reached"}, headers=kim)
    after = client.post(f"/v1/tasks/{task}/outcome", json={"outcome": "reached"}, headers=lee)
    assert after.status_code == 409
    assert [e.properties["outcome"] for e in calls()] == ["reached"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"outcome": "maybe"}, "'maybe' is not allowed"),
        ({"notes": "no outcome"}, "outcome is missing"),
    ],
)
def test_a_bad_outcome_names_the_allowed_values(
    client: TestClient, kim: dict[str, str], body: dict[str, Any], reason: str
) -> None:
    task = make_task(1)
    client.post(f"/v1/tasks/{task}/claim", headers=kim)
    response = client.post(f"/v1/tasks/{task}/outcome", json=body, headers=kim)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert reason in detail and ALLOWED in detail
    assert calls() == []


def test_unknown_tasks_are_404(client: TestClient, kim: dict[str, str]) -> None:
    assert client.post("/v1/tasks/999/claim", headers=kim).status_code == 404
    missing = client.post("/v1/tasks/999/outcome", json={"outcome": "sold"}, headers=kim)
    assert missing.status_code == 404 and "999" in missing.json()["detail"]


def test_keys_and_scopes(client: TestClient, database: str) -> None:
    task = make_task(1)
    assert client.get("/v1/tasks").status_code == 401
    assert client.post(f"/v1/tasks/{task}/claim").status_code == 401
    assert client.get("/v1/tasks", headers={"X-API-Key": "ak_agent_nope"}).status_code == 401
    ingest = {"X-API-Key": keys.create_key("ingest", "site")}
    assert client.post(f"/v1/tasks/{task}/claim", headers=ingest).status_code == 403
    admin = {"X-API-Key": keys.create_key("admin", "ops-park")}
    claimed = client.post(f"/v1/tasks/{task}/claim", headers=admin)
    assert claimed.status_code == 200 and claimed.json()["task"]["claimed_by"] == "ops-park"


def test_the_rules_hold_without_http(database: str) -> None:
    task = make_task(1)
    with pytest.raises(call_center.UnknownTask, match="no task 999"):
        call_center.claim(999, "agent-kim")
    assert call_center.claim(task, "agent-kim").task.claimed_by == "agent-kim"
    with pytest.raises(call_center.TaskConflict, match="claimed by agent-kim"):
        call_center.claim(task, "agent-lee")
    with pytest.raises(call_center.InvalidChoice, match="'maybe' is not allowed"):
        call_center.record_outcome(task, "agent-kim", "maybe", None)
    done = call_center.record_outcome(task, "agent-kim", "do_not_call", "그만 연락 주세요")
    assert done.recorded and done.event_id == f"call:{task}" and done.event_status == "accepted"
    assert len(done.process_now) == 1  # an opt-out is processed before the answer
    again = call_center.record_outcome(task, "agent-kim", "do_not_call", None)
    assert not again.recorded and again.event_status == "duplicate"
    assert again.process_now == []
    with pytest.raises(call_center.TaskConflict, match="is done already"):
        call_center.record_outcome(task, "agent-kim", "sold", None)
