"""The request body's size limit: 413 with its reason on every route, decided from
``Content-Length`` before reading, or while a body without one streams in."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from automation.api import create_app, keys
from automation.api.limits import BodyLimit
from automation.config import reset_settings
from tests.helpers import ev

ROUTES = [
    ("POST", "/v1/events"),
    ("POST", "/v1/sms/callback"),
    ("POST", "/v1/tasks/1/outcome"),
    ("POST", "/u/some-token"),
    ("GET", "/healthz"),
]


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("AUTOMATION_MAX_BODY_BYTES", "4096")
    reset_settings()
    return 4096


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_body_over_the_limit_is_refused_on_every_route(
    database: str, small_limit: int, method: str, path: str
) -> None:
    client = TestClient(create_app())
    headers = {"X-API-Key": keys.create_key("admin"), "Content-Type": "application/json"}
    answer = client.request(method, path, content=b" " * 5000, headers=headers)
    assert answer.status_code == 413
    assert "over 4,096 bytes (MAX_BODY_BYTES)" in answer.json()["detail"]


def test_a_full_batch_of_ordinary_events_is_well_under_the_default(database: str) -> None:
    client = TestClient(create_app())
    batch = {
        "events": [
            ev(
                f"web-{i:04d}",
                "product_view",
                visitor_id=f"cookie-{i}",
                customer_id=f"C{i}",
                properties={"product": "EDU-CARE", "url": "/products/educare?utm_source=mail"},
            )
            for i in range(1000)
        ]
    }
    body = orjson.dumps(batch)
    assert len(body) < 1024 * 1024  # the default, 4 MiB, leaves room for big properties
    answer = client.post(
        "/v1/events", content=body, headers={"X-API-Key": keys.create_key("ingest")}
    )
    assert answer.status_code == 202, answer.text[:300]


def _drive(app: Any, chunks: int, chunk: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
    """Send a body of ``chunks`` chunks to an ASGI app; what it answered and how many
    chunks it read."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/events",
        "headers": headers,
        "query_string": b"",
    }
    asyncio.run(app(scope, receive, send))
    return sent, pulled


def test_a_body_without_content_length_is_counted_and_cut_off() -> None:
    # 60 chunks of 1 MiB (the tester's 60 MB body), streamed: refused after 2 of them.
    async def reads_everything(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = BodyLimit(reads_everything, max_bytes=1024 * 1024)
    sent, pulled = _drive(app, 60, b"x" * 1024 * 1024, [(b"transfer-encoding", b"chunked")])
    assert sent[0]["status"] == 413
    assert b"MAX_BODY_BYTES" in sent[1]["body"]
    assert pulled == 2


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    async def never(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not be called")

    app = BodyLimit(never, max_bytes=1024)
    sent, pulled = _drive(app, 60, b"x" * 1024, [(b"content-length", str(60 * 2**20).encode())])
    assert sent[0]["status"] == 413 and pulled == 0


def test_the_api_reads_no_more_than_the_limit_of_a_streamed_body(
    database: str, small_limit: int
) -> None:
    key = keys.create_key("ingest")
    sent, pulled = _drive(create_app(), 1000, b" " * 1024, [(b"x-api-key", key.encode())])
    assert sent[0]["status"] == 413 and pulled <= 5
