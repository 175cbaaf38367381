"""PostgreSQL's pooled connections: pinged before use only after sitting idle, and one
the server dropped is replaced."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from automation import db
from automation.db import engine as engine_module
from tests.services import PG_ADMIN_URL


@pytest.fixture
def pings(postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each ping of a pooled connection, counted (the dialect's own ping still runs)."""
    dialect = db.get_engine().dialect
    ping = dialect.do_ping
    seen: list[int] = []

    def counted(dbapi_conn: Any) -> bool:
        seen.append(1)
        return ping(dbapi_conn)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return seen


def _backend_pid() -> int:
    with db.get_engine().connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _end_session(pid: int) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_used_a_moment_ago_is_not_pinged(
    pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid()  # pinged if it sat in the pool since an earlier test
    pings.clear()
    assert [_backend_pid() for _ in range(5)] == [first] * 5
    assert pings == []  # pool_pre_ping made a round trip at each of these check-outs
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)  # as if it sat idle
    assert _backend_pid() == first and pings == [1]


def test_a_connection_the_server_dropped_while_idle_is_replaced_unseen(
    pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped = _backend_pid()
    _end_session(dropped)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    assert _backend_pid() != dropped  # no error: the ping found it gone, the pool reconnected
    assert pings


def test_one_dropped_just_after_use_fails_once_then_the_pool_recovers(
    pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 60.0)  # however slow the host
    dropped = _backend_pid()
    _end_session(dropped)
    with pytest.raises(DBAPIError) as failed:
        _backend_pid()
    assert failed.value.connection_invalidated  # what worker/process.py runs again on
    assert _backend_pid() != dropped
