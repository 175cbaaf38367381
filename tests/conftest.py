"""Fixtures: the same tests on the embedded default and on the real services.

``backend`` runs a test three ways: SQLite + stub broker, PostgreSQL + Redis, and
PostgreSQL + RabbitMQ, each with a real in-process Dramatiq worker. ``database``
runs a test on SQLite and on PostgreSQL when it needs no broker.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dramatiq import Broker, Worker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import create_engine, func, select, text

from automation import clock, db
from automation.api import keys
from automation.config import reset_settings
from tests.services import PG_ADMIN_URL, RABBITMQ_URL, REDIS_URL, require

_pg_url: str | None = None


def _postgres_database() -> str:
    """One fresh database for this test run, migrated once; tables emptied per test."""
    global _pg_url
    if _pg_url is None:
        name = f"automation_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(
            PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        _pg_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        from automation.db.migrate import upgrade

        upgrade("head", database_url=_pg_url)
    return _pg_url


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if _pg_url is None:
        return
    db.engine_for.cache_clear()
    name = _pg_url.rsplit("/", 1)[1]
    admin = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _use_database(kind: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/automation.db"
        monkeypatch.setenv("AUTOMATION_DATABASE_URL", url)
        reset_settings()
        from automation.db.migrate import upgrade

        upgrade("head", database_url=url)
    else:
        require("postgresql")
        url = _postgres_database()
        monkeypatch.setenv("AUTOMATION_DATABASE_URL", url)
        monkeypatch.setenv("AUTOMATION_SECRET_KEY", "test-secret")
        reset_settings()
        _truncate(url)
    return url


def _truncate(url: str) -> None:
    from automation.models import metadata

    names = ", ".join(t.name for t in metadata.sorted_tables)
    with db.engine_for(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    """Every test starts from the embedded default in its own folder, with a real clock."""
    for name in list(os.environ):
        if name.startswith("AUTOMATION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    reset_settings()
    clock.unfreeze()
    keys.forget_cache()
    from automation.worker.actors import use_broker

    use_broker(StubBroker())  # no broker of an earlier test leaks into this one
    yield
    clock.unfreeze()
    keys.forget_cache()
    reset_settings()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A migrated, empty database: SQLite file or PostgreSQL."""
    url = _use_database(request.param, tmp_path, monkeypatch)
    yield url
    if request.param == "sqlite":
        db.engine_for(url).dispose()


@pytest.fixture
def postgres_database(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """PostgreSQL only (for what SQLite cannot do, such as separate worker processes)."""
    return _use_database("postgresql", tmp_path, monkeypatch)


@dataclass
class Backend:
    """A database and a broker with a running worker, and a way to wait for it."""

    name: str
    database_url: str
    broker: Broker
    worker: Worker

    def wait(self, timeout: float = 30.0) -> None:
        """Until the queues are empty, the worker idle, and no event that has not
        failed is left unprocessed (a real broker's join can return before the worker
        has taken a message that was just published)."""
        if isinstance(self.broker, StubBroker):
            from automation.broker import drain_stub

            drain_stub(self.broker, self.worker)
            return
        deadline = time.monotonic() + timeout
        while True:
            for queue in ("events", "messages"):
                self.broker.join(queue, timeout=int(timeout * 1000))  # type: ignore[attr-defined]
            self.worker.join()
            if not _waiting_events() and not _waiting_messages():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: events still unprocessed after {timeout}s")
            time.sleep(0.05)


def _waiting_events() -> int:
    from automation.models import Event

    query = (
        select(func.count())
        .select_from(Event)
        .where(
            Event.processed_at.is_(None),  # type: ignore[union-attr]
            Event.last_error.is_(None),  # type: ignore[union-attr]
        )
    )
    with db.get_engine().connect() as conn:
        return int(conn.execute(query).scalar_one())


def _waiting_messages() -> int:
    """Messages queued with no time set: their delivery is on its way."""
    from automation.models import Message

    query = (
        select(func.count())
        .select_from(Message)
        .where(Message.status == "queued", Message.deliver_after.is_(None))  # type: ignore[union-attr]
    )
    with db.get_engine().connect() as conn:
        return int(conn.execute(query).scalar_one())


BACKENDS = ["sqlite+stub", "postgresql+redis", "postgresql+rabbitmq"]


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    """The same test on the embedded default and on the production services."""
    db_kind, broker_kind = request.param.split("+")
    url = _use_database(db_kind, tmp_path, monkeypatch)
    broker = make_broker(broker_kind, monkeypatch)
    from automation.broker import start_worker
    from automation.worker.actors import use_broker

    use_broker(broker)
    worker = start_worker(broker)
    try:
        yield Backend(request.param, url, broker, worker)
    finally:
        worker.stop()
        broker.close()
        if db_kind == "sqlite":
            db.engine_for(url).dispose()


def make_broker(kind: str, monkeypatch: pytest.MonkeyPatch) -> Broker:
    """A broker of ``kind`` with empty queues, also named in the settings."""
    from automation.broker import build_broker
    from automation.worker.actors import use_broker

    if kind == "stub":
        return StubBroker()
    require(kind)
    url = REDIS_URL if kind == "redis" else RABBITMQ_URL
    monkeypatch.setenv("AUTOMATION_BROKER_URL", url)
    monkeypatch.setenv("AUTOMATION_SECRET_KEY", "test-secret")
    reset_settings()
    broker = build_broker(url)
    import automation.worker.actors  # noqa: F401

    use_broker(broker)
    broker.flush_all()
    return broker


@pytest.fixture
def ingest_key(database: str) -> str:
    return keys.create_key("ingest", "test-site")


@pytest.fixture
def frozen() -> Iterator[Any]:
    """The clock frozen at 2026-11-22 10:00 in Seoul; move it with clock.advance."""
    import pendulum

    with clock.frozen_at(pendulum.datetime(2026, 11, 22, 10, 0, tz="Asia/Seoul")) as at:
        yield at
