"""Text a database cannot hold and structures too deep to store are refused per event:
the rest of the batch is stored and the answer is 422 listing the refused ones."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from automation import db
from automation.api import create_app
from automation.models import Event


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(create_app())


def post(client: TestClient, key: str, body: Any) -> Any:
    # Bytes, so that nesting deeper than any encoder's limit can be sent (DEEP).
    content = body if isinstance(body, bytes) else orjson.dumps(body).replace(DEEP_MARK, DEEP)
    return client.post("/v1/events", content=content, headers={"X-API-Key": key})


def stored_ids() -> list[str]:
    with db.get_engine().connect() as conn:
        return sorted(conn.execute(select(Event.event_id)).scalars())  # type: ignore[call-overload]


def event(name: str, /, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": name,
        "type": "page_view",
        "occurred_at": "2026-11-22T10:15:00+09:00",
        "visitor_id": "cookie-1",
        "properties": {"url": "/products/educare"},
    }
    return {**base, **over}


# 1,000 levels of objects in a property: stands in for the mark once the body is encoded.
DEEP = b'{"n":' * 999 + b'{"leaf":1}' + b"}" * 999
DEEP_MARK = b'"@deep@"'


NUL = "a\x00b"
BAD = [
    (event("x1", event_id=NUL), "event_id holds a NUL character"),
    (event("x2", visitor_id=NUL), "visitor_id holds a NUL character"),
    (event("x3", customer_id=NUL), "customer_id holds a NUL character"),
    (event("x4", properties={"url": "/", NUL: 1}), "holds a NUL character"),
    (event("x5", properties={"url": NUL}), "properties.url holds a NUL character"),
    (
        event("x6", properties={"url": "/", "a": {"b": [1, {"c": NUL}]}}),
        "properties.a.b[1].c holds a NUL character",
    ),
    (event("x7", type="custom_evt", properties={"k": [[["\x00"]]]}), "holds a NUL character"),
    (event("x8", properties={"url": "/", "deep": "@deep@"}), "nests deeper than 32 levels"),
    (event("x9", occurred_at="0001-01-01T00:00:00+09:00"), "before 1900"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD, ids=[f"x{i}" for i in range(1, len(BAD) + 1)])
def test_a_bad_event_is_refused_and_the_batch_kept(
    client: TestClient, ingest_key: str, bad: dict[str, Any], reason: str
) -> None:
    response = post(client, ingest_key, {"events": [event("good-1"), bad, event("good-2")]})
    assert response.status_code == 422, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert any(reason in e for e in body["results"][1]["errors"]), body["results"][1]
    assert stored_ids() == ["good-1", "good-2"]


def test_a_body_too_deep_for_the_parser_is_a_clear_400(client: TestClient, ingest_key: str) -> None:
    deep = b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}"
    response = post(client, ingest_key, deep)
    assert response.status_code == 400
    assert "nests deeper than" in response.json()["error"]
    assert stored_ids() == []


@pytest.mark.parametrize(
    ("spoilt", "reason"),
    [
        (b'"url": "/a\\ud800"', "properties.url holds a lone surrogate"),
        (b'"url": "/", "n": 1e400', "properties.n is not a finite number"),
        (b'"url": "/", "n": 1' + b"0" * 400, "properties.n is too large a number"),
    ],
)
def test_json_the_fast_parser_refuses_costs_only_its_event(
    client: TestClient, ingest_key: str, spoilt: bytes, reason: str
) -> None:
    good = orjson.dumps(event("good-1"))
    bad = orjson.dumps(event("bad", properties={"url": "@"})).replace(b'"url":"@"', spoilt)
    response = post(client, ingest_key, b'{"events": [' + good + b"," + bad + b"]}")
    assert response.status_code == 422, response.text
    result = response.json()["results"][1]
    assert result["status"] == "rejected" and any(reason in e for e in result["errors"]), result
    assert stored_ids() == ["good-1"]
