"""POST /v1/events: what a sender sees for good and bad input, and what is stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from automation import db
from automation.api import create_app, keys
from automation.models import Event


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(create_app())


def post(client: TestClient, key: str, body: Any) -> Any:
    if isinstance(body, bytes | str):
        return client.post("/v1/events", content=body, headers={"X-API-Key": key})
    return client.post("/v1/events", json=body, headers={"X-API-Key": key})


def stored_ids() -> list[str]:
    with db.get_engine().connect() as conn:
        return sorted(conn.execute(select(Event.event_id)).scalars())  # type: ignore[call-overload]


def event(i: int | str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": f"ev-{i}",
        "type": "page_view",
        "occurred_at": "2026-11-22T10:15:00+09:00",
        "visitor_id": "cookie-1",
        "properties": {"url": "/products/educare", "product": "EDU-CARE"},
    }
    base.update(over)
    return base


def test_one_event_is_accepted_and_stored(client: TestClient, ingest_key: str) -> None:
    response = post(client, ingest_key, event(1))
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert stored_ids() == ["ev-1"]


def test_a_batch_answers_per_event(client: TestClient, ingest_key: str) -> None:
    response = post(client, ingest_key, {"events": [event(1), event(2), event(3)]})
    assert response.status_code == 202
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3
    assert [r["event_id"] for r in body["results"]] == ["ev-1", "ev-2", "ev-3"]


def test_stored_time_is_utc_of_the_given_offset(client: TestClient, ingest_key: str) -> None:
    post(client, ingest_key, event(1, occurred_at="2026-11-22T00:30:00+09:00"))
    with db.get_engine().connect() as conn:
        at = conn.execute(select(Event.occurred_at)).scalar_one()  # type: ignore[call-overload]
    assert at.utcoffset().total_seconds() == 0
    assert (at.year, at.month, at.day, at.hour, at.minute) == (2026, 11, 21, 15, 30)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"[1, 2]", 422, "one event object"),
        (b'{"events": {}}', 422, "must be an array"),
        (b'{"events": []}', 422, "is empty"),
        (b'{"events": [], "extra": 1}', 422, "unknown: extra"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(
    client: TestClient, ingest_key: str, body: bytes, status: int, reason: str
) -> None:
    response = post(client, ingest_key, body)
    assert response.status_code == status
    assert reason in response.json()["error"]
    assert stored_ids() == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"event_id": None}, "event_id is missing"),
        ({"event_id": 42}, "event_id must be a string, not a number"),
        ({"event_id": "  "}, "event_id is empty"),
        ({"type": None}, "type is missing"),
        ({"type": "PageView"}, "did you mean 'page_view'"),
        ({"type": "page-view"}, "collides with the core type 'page_view'"),
        ({"occurred_at": "2026-11-22T10:15:00"}, "has no time zone"),
        ({"occurred_at": "yesterday"}, "is not an ISO 8601 time"),
        ({"occurred_at": 1700000000}, "must be an ISO 8601 string"),
        ({"occurred_at": "2036-01-01T00:00:00+09:00"}, "in the future"),
        ({"properties": [1]}, "properties must be an object, not an array"),
        ({"properties": {}}, "a page_view event needs properties.url"),
        ({"properties": {"url": 3}}, "properties.url must be a string"),
        ({"visitor_id": None}, "needs visitor_id or customer_id"),
        ({"utm": "x"}, "unknown field 'utm'"),
        ({"type": "signup"}, "a signup event needs customer_id"),
    ],
)
def test_bad_events_are_rejected_with_the_reason(
    client: TestClient, ingest_key: str, change: dict[str, Any], reason: str
) -> None:
    bad = {k: v for k, v in {**event("bad"), **change}.items() if v is not None}
    response = post(client, ingest_key, {"events": [bad]})
    assert response.status_code == 422
    result = response.json()["results"][0]
    assert result["status"] == "rejected"
    assert any(reason in e for e in result["errors"]), result["errors"]
    assert stored_ids() == []


def test_a_mixed_batch_keeps_the_good_events_and_says_which_were_bad(
    client: TestClient, ingest_key: str
) -> None:
    batch = [event(1), event(2, occurred_at="2026-11-22 10:15"), event(3)]
    response = post(client, ingest_key, {"events": batch})
    assert response.status_code == 422
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["results"][1]["status"] == "rejected"
    assert stored_ids() == ["ev-1", "ev-3"]
    # Resending the whole batch after the fix is safe: the good ones are duplicates.
    batch[1] = event(2)
    again = post(client, ingest_key, {"events": batch}).json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "accepted", "duplicate"]
    assert stored_ids() == ["ev-1", "ev-2", "ev-3"]


def test_duplicates_in_one_batch_and_across_batches_are_stored_once(
    client: TestClient, ingest_key: str
) -> None:
    first = post(client, ingest_key, {"events": [event(1), event(1), event(2)]}).json()
    assert [r["status"] for r in first["results"]] == ["accepted", "duplicate", "accepted"]
    second = post(client, ingest_key, {"events": [event(2), event(3)]}).json()
    assert [r["status"] for r in second["results"]] == ["duplicate", "accepted"]
    assert stored_ids() == ["ev-1", "ev-2", "ev-3"]


def test_oversized_batches_are_refused_whole(client: TestClient, ingest_key: str) -> None:
    response = post(client, ingest_key, {"events": [event(i) for i in range(1001)]})
    assert response.status_code == 413
    assert "at most 1000" in response.json()["error"]
    assert stored_ids() == []


def test_a_full_batch_of_1000_is_accepted(client: TestClient, ingest_key: str) -> None:
    response = post(client, ingest_key, {"events": [event(i) for i in range(1000)]})
    assert response.status_code == 202
    with db.get_engine().connect() as conn:
        assert conn.execute(select(func.count()).select_from(Event)).scalar_one() == 1000


def test_unknown_event_types_are_stored(client: TestClient, ingest_key: str) -> None:
    response = post(
        client, ingest_key, event(1, type="webinar_registered", properties={"topic": "pension"})
    )
    assert response.status_code == 202
    assert stored_ids() == ["ev-1"]


def test_keys_and_scopes(client: TestClient, database: str) -> None:
    assert client.post("/v1/events", json=event(1)).status_code == 401
    assert post(client, "ak_ingest_not-a-real-key", event(1)).status_code == 401
    agent = keys.create_key("agent")
    refused = post(client, agent, event(1))
    assert refused.status_code == 403
    assert "agent" in refused.json()["detail"]
    assert post(client, keys.create_key("admin"), event(1)).status_code == 202
    assert stored_ids() == ["ev-1"]


def test_healthz_and_metrics(client: TestClient, ingest_key: str) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    post(client, ingest_key, {"events": [event(1), event(1)]})
    text = client.get("/metrics").text
    assert 'automation_events_ingested_total{result="accepted",source="api"}' in text
    assert 'automation_events_ingested_total{result="duplicate",source="api"}' in text
