"""The SMS callback refuses a malformed report with its reason and handles the rest of
the batch: an object, a NUL or nothing as ``message_key``, a naive ``at``, a reply or
provider id that is not text."""

from __future__ import annotations

from typing import Any

from tests.api.routes.test_sms_callback import _events, _setup

GOOD = {"message_key": "enrollment:1:2:0", "status": "delivered"}


def _post(reports: list[Any]) -> Any:
    client, key, _ = _setup()
    return client.post("/v1/sms/callback", json={"reports": reports}, headers={"X-API-Key": key})


def test_an_object_or_a_nul_as_message_key_is_refused_and_the_rest_stored(database: str) -> None:
    answer = _post(
        [
            {"message_key": {"$ne": ""}, "status": "delivered"},
            {"message_key": "enrollment:1:2:0\x00", "status": "delivered"},
            {"message_key": ["enrollment:1:2:0"], "status": "delivered"},
            {"status": "delivered"},
            GOOD,
        ]
    )
    assert answer.status_code == 422
    body = answer.json()
    errors = {r["index"]: r["error"] for r in body["refused"]}
    assert errors == {
        0: "message_key must be a string, not an object",
        1: "message_key must not contain a NUL character",
        2: "message_key must be a string, not an array",
        3: "message_key is missing (the key the message was sent with)",
    }
    assert body["accepted"] == 1
    assert [e.type for e in _events()] == ["sms_delivered"]


def test_a_naive_at_is_refused_with_its_reason(database: str) -> None:
    answer = _post([{**GOOD, "at": "2026-11-22T10:00:00"}])
    assert answer.status_code == 422
    [refused] = answer.json()["refused"]
    assert "'2026-11-22T10:00:00' is not an ISO 8601 time with a zone" in refused["error"]
    assert _events() == []


def test_replies_statuses_and_times_that_are_not_text_are_refused(database: str) -> None:
    answer = _post(
        [
            {"message_key": "enrollment:1:2:0", "reply": {"text": "네"}},
            {"message_key": "enrollment:1:2:0", "reply": "네\x00"},
            {"message_key": "enrollment:1:2:0", "status": {"delivered": True}},
            {**GOOD, "provider_id": {"id": 1}},
            {**GOOD, "at": "0001-01-01T00:00:00+09:00"},
            {"message_key": "enrollment:1:2:0", "reply": "네", "provider_id": 42},
        ]
    )
    assert answer.status_code == 422
    body = answer.json()
    assert [r["index"] for r in body["refused"]] == [0, 1, 2, 3, 4]
    assert "reply must be a string" in body["refused"][0]["error"]
    assert "provider_id must be a string or a number" in body["refused"][3]["error"]
    assert body["accepted"] == 1
    [event] = _events()
    assert event.properties["reply"] == "네" and event.properties["provider_id"] == 42


def test_more_reports_than_a_batch_holds_are_refused(database: str) -> None:
    answer = _post([GOOD] * 1001)
    assert answer.status_code == 413
    assert "at most 1000 reports" in answer.json()["error"]
