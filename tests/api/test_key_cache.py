"""API-key look-ups: a bounded cache, wrong keys remembered without a query each, and
wrong keys limited per client address (429 with ``Retry-After``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from automation import db
from automation.api import create_app, deps, keys
from automation.api.keycache import TtlLru
from automation.config import reset_settings
from automation.errors import AuthError
from automation.models import Scope


@pytest.fixture
def queries(database: str) -> Iterator[list[str]]:
    """The SQL statements run on the database while the test runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = db.get_engine()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _key_queries(seen: list[str]) -> int:
    return sum("FROM api_keys" in s for s in seen)


def test_forged_keys_leave_the_cache_bounded(queries: list[str]) -> None:
    for i in range(3000):
        with pytest.raises(AuthError):
            keys.check_key(f"ak_ingest_forged{i:06d}", Scope.INGEST)
    assert len(keys._unknown) <= keys.UNKNOWN_KEYS
    assert len(keys._known) == 0


def test_one_wrong_key_again_and_again_costs_one_query(queries: list[str]) -> None:
    for _ in range(50):
        with pytest.raises(AuthError):
            keys.check_key("ak_ingest_wrong", Scope.INGEST)
    assert _key_queries(queries) == 1


def test_something_that_is_no_key_of_ours_costs_no_query(queries: list[str]) -> None:
    for value in ("hunter2", "x" * 5000, "ak_" + "y" * 200):
        with pytest.raises(AuthError):
            keys.check_key(value, Scope.INGEST)
    assert _key_queries(queries) == 0


def test_a_known_key_is_looked_up_once_per_cache_lifetime(queries: list[str]) -> None:
    key = keys.create_key("ingest", "site")
    for _ in range(20):
        assert keys.check_key(key, Scope.INGEST) == "ingest"
    assert _key_queries(queries) == 1


def test_the_lru_evicts_the_least_recently_used() -> None:
    cache: TtlLru[int] = TtlLru(2)
    cache.put("a", 1, 60)
    cache.put("b", 2, 60)
    assert cache.get("a") == (True, 1)  # a is now the most recent
    cache.put("c", 3, 60)
    assert cache.get("b") == (False, None) and cache.get("a") == (True, 1)
    cache.put("d", 4, -1)  # expired at once
    assert cache.get("d") == (False, None)


def test_too_many_wrong_keys_from_one_address_are_answered_429(
    queries: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOMATION_AUTH_FAILURES_PER_MINUTE", "5")
    reset_settings()
    good = keys.create_key("ingest", "site")
    client = TestClient(create_app())
    client.post("/v1/events", json={}, headers={"X-API-Key": good})  # cached now
    answers = [
        client.post("/v1/events", json={}, headers={"X-API-Key": f"ak_ingest_forged{i}"})
        for i in range(20)
    ]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert {a.status_code for a in answers[5:]} == {429}
    retry = int(answers[-1].headers["Retry-After"])
    assert 1 <= retry <= 60
    assert "too many wrong API keys" in answers[-1].json()["detail"]
    assert _key_queries(queries) <= 6  # the good key and the five wrong ones, no more
    # A key already known still passes from the blocked address.
    known = client.post("/v1/events", json={"events": []}, headers={"X-API-Key": good})
    assert known.status_code == 422


def test_a_cached_key_is_checked_without_the_thread_pool_and_answers_alike(
    queries: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = keys.create_key("ingest", "site")
    agent = keys.create_key("agent", "kim")
    client = TestClient(create_app())
    hops: list[object] = []
    real = deps.run_in_threadpool

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(deps, "run_in_threadpool", counted)
    answers = [client.get("/v1/personalize", headers={"X-API-Key": key}) for key in (site, agent)]
    assert [a.status_code for a in answers] == [422, 403]  # the first look-ups: in the pool
    assert len(hops) == 2 and _key_queries(queries) == 2
    again = [client.get("/v1/personalize", headers={"X-API-Key": key}) for key in (site, agent)]
    assert [a.json() for a in again] == [a.json() for a in answers]  # the same, from the cache
    assert len(hops) == 2 and _key_queries(queries) == 2
    assert client.get("/v1/personalize").json()["detail"] == "missing X-API-Key header"
    keys.revoke_key("site")
    assert client.get("/v1/personalize", headers={"X-API-Key": site}).status_code == 401
