"""The SMS gateway's callbacks: delivery reports and replies become events tied to
their message, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import col, select

from automation import clock
from automation.api import keys
from automation.api.app import create_app
from automation.db import session_scope
from automation.models import Customer, Event, Message


def _setup() -> tuple[TestClient, str, int]:
    with session_scope() as s:
        s.add(Customer(customer_id="C1", mobile="010-1234-5678", sms_consent=True))
        s.flush()
        message = Message(
            idempotency_key="enrollment:1:2:0", customer_id="C1", channel="sms", journey_id="j"
        )
        s.add(message)
        s.flush()
        assert message.id is not None
        mid = message.id
    return TestClient(create_app()), keys.create_key("ingest", "gateway"), mid


def _events() -> list[Event]:
    with session_scope() as s:
        return list(s.exec(select(Event).order_by(col(Event.id))))


def test_delivery_and_reply_become_events_once(database: str) -> None:
    client, key, mid = _setup()
    report = {"message_key": "enrollment:1:2:0", "status": "delivered", "provider_id": "gw-1"}
    reply = {"message_key": "enrollment:1:2:0", "reply": "관심 있어요"}
    answer = client.post(
        "/v1/sms/callback", json={"reports": [report, reply]}, headers={"X-API-Key": key}
    )
    assert answer.status_code == 202, answer.text
    again = client.post("/v1/sms/callback", json=report, headers={"X-API-Key": key})
    assert again.json()["duplicates"] == 1
    events = _events()
    assert [e.type for e in events] == ["sms_delivered", "sms_replied"]
    assert all(e.customer_id == "C1" and e.properties["message_id"] == mid for e in events)
    assert events[1].properties["reply"] == "관심 있어요"


def test_unknown_messages_and_statuses_are_refused_with_reasons(database: str) -> None:
    client, key, _ = _setup()
    answer = client.post(
        "/v1/sms/callback",
        json={
            "reports": [
                {"message_key": "nope", "status": "delivered"},
                {"message_key": "enrollment:1:2:0", "status": "lost"},
            ]
        },
        headers={"X-API-Key": key},
    )
    assert answer.status_code == 422
    errors = [r["error"] for r in answer.json()["refused"]]
    assert "no SMS with message_key 'nope'" in errors[0] and "delivered or failed" in errors[1]
    assert _events() == []
    assert client.post("/v1/sms/callback", json={}).status_code == 401
    assert (
        client.post("/v1/sms/callback", content=b"{", headers={"X-API-Key": key}).status_code == 400
    )


def test_a_report_whose_time_has_no_zone_or_is_no_time_is_refused(database: str) -> None:
    client, key, mid = _setup()
    reports = [
        {"message_key": "enrollment:1:2:0", "status": "delivered", "at": "yesterday"},
        {"message_key": "enrollment:1:2:0", "status": "failed", "at": "2025-11-22T10:00:00"},
        {"message_key": "enrollment:1:2:0", "reply": "네", "at": 1763773200},
        {"message_key": "enrollment:1:2:0", "status": "delivered", "at": "2025-11-22T10:00+09:00"},
    ]
    answer = client.post("/v1/sms/callback", json={"reports": reports}, headers={"X-API-Key": key})
    assert answer.status_code == 422
    body = answer.json()
    assert [r["index"] for r in body["refused"]] == [0, 1, 2]
    assert all("not an ISO 8601 time with a zone" in r["error"] for r in body["refused"])
    assert "'yesterday'" in body["refused"][0]["error"]
    assert body["accepted"] == 1 and body["duplicates"] == 0
    [event] = _events()  # the valid report is stored all the same
    assert (event.event_id, event.type) == (f"sms:{mid}:delivered", "sms_delivered")
    assert event.occurred_at == datetime(2025, 11, 22, 1, 0, tzinfo=UTC)


def test_a_report_dated_over_a_day_ahead_is_not_stored_and_not_refused(database: str) -> None:
    # Kept as it was: ingest refused a time over a day ahead, and the answer did not say so.
    client, key, _ = _setup()
    ahead = (clock.now() + timedelta(days=2)).isoformat()
    report = {"message_key": "enrollment:1:2:0", "status": "delivered", "at": ahead}
    answer = client.post("/v1/sms/callback", json=report, headers={"X-API-Key": key})
    assert answer.status_code == 202
    assert answer.json() == {"accepted": 0, "refused": [], "duplicates": 0}
    assert _events() == []
