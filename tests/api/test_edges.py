"""The API's smaller edges: ids out of range, absurd report periods, what ``/healthz``
tells a stranger, no page loading from another host, tokens kept out of the log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from automation.api import create_app, keys
from automation.api.logs import ACCESS_LOGGER, MaskTokens, mask_tokens
from automation.config import reset_settings


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(create_app())


@pytest.mark.parametrize("task_id", ["1180591620717411303424", "2147483648", "0", "-1"])
def test_a_task_id_out_of_range_is_refused_with_the_range(client: TestClient, task_id: str) -> None:
    agent = {"X-API-Key": keys.create_key("agent", "agent-kim")}
    for path in (f"/v1/tasks/{task_id}/claim", f"/v1/tasks/{task_id}/outcome"):
        answer = client.post(path, json={"outcome": "reached"}, headers=agent)
        assert answer.status_code == 422, (path, answer.text)
        assert "2147483647" in answer.text or "greater than or equal to 1" in answer.text


def test_the_largest_task_id_is_a_plain_404(client: TestClient) -> None:
    agent = {"X-API-Key": keys.create_key("agent", "agent-kim")}
    assert client.post("/v1/tasks/2147483647/claim", headers=agent).status_code == 404


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        ("0001-01-01", "9999-12-31", "outside 2000-01-01 – 2099-12-31"),
        (None, "9999-12-31", "outside 2000-01-01 – 2099-12-31"),
        (None, "0001-01-01", "outside 2000-01-01 – 2099-12-31"),
        ("2000-01-01", "2026-11-22", "a report covers at most 1,830 days"),
    ],
)
def test_a_period_outside_a_sane_range_is_refused(
    client: TestClient, start: str | None, end: str, reason: str
) -> None:
    admin = {"X-API-Key": keys.create_key("admin")}
    query = {"to": end} | ({"from": start} if start else {})
    for kind in ("funnel", "journeys", "campaigns", "weblog"):
        answer = client.get(f"/v1/reports/{kind}", params=query, headers=admin)
        assert answer.status_code == 422, (kind, answer.text)
        assert reason in answer.json()["detail"]


def test_healthz_says_unavailable_without_connection_details(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTOMATION_DATABASE_URL", "postgresql://crm:pw@127.0.0.1:1/crm_prod")
    monkeypatch.setenv("AUTOMATION_SECRET_KEY", "test-secret")
    reset_settings()
    answer = TestClient(create_app()).get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "database": "unavailable"}


def test_no_interactive_docs_but_the_schema(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(path).status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"] == "automation"


def test_our_pages_load_nothing_from_another_host(client: TestClient) -> None:
    html_pages = [client.get("/u/not-a-token"), client.get("/t/c/not-a-token")]
    admin = {"X-API-Key": keys.create_key("admin")}
    html_pages.append(client.get("/v1/reports/funnel?format=html", headers=admin))
    for page in html_pages:
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), page.url


TOKEN = "eyJtIjoxMjN9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        (f"/u/{TOKEN}", "/u/***"),
        (f"/t/o/{TOKEN}", "/t/o/***"),
        (f"/t/c/{TOKEN}?x=1", "/t/c/***?x=1"),
        ("/v1/events", "/v1/events"),
    ],
)
def test_tokens_are_masked_in_the_access_log(path: str, masked: str) -> None:
    assert mask_tokens(path) == masked


@pytest.fixture
def uvicorn_logging() -> Iterator[None]:
    """Uvicorn's logging set-up for one test, then the loggers as they were."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        n: (lg.handlers[:], lg.level, lg.propagate) for n in names if (lg := logging.getLogger(n))
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_the_access_log_filter_survives_uvicorns_logging_set_up(uvicorn_logging: None) -> None:
    app = create_app()
    uvicorn.Config(app, log_level="info")  # configures logging as `serve` does
    logger = logging.getLogger(ACCESS_LOGGER)
    assert any(isinstance(f, MaskTokens) for f in logger.filters)
    record = logger.makeRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/u/{TOKEN}", "1.1", 200),
        None,
    )
    for f in logger.filters:
        f.filter(record)
    line = record.getMessage()
    assert TOKEN not in line and '"POST /u/*** HTTP/1.1" 200' in line
