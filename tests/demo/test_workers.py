"""The demo on PostgreSQL and a real broker: separate worker processes do the work.

They write to the demo's own folder (``--out``), follow the replay's clock, and what a
lost broker message left waiting is offered again.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import create_engine, text

from automation import clock
from automation.config import reset_settings
from automation.demo import run_demo
from automation.demo.run import START

CUSTOMERS = 60


@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"])
def test_on_postgresql_and_a_real_broker_separate_workers_follow_the_replay(
    broker_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the production services named, worker processes other than the demo's do
    the work, on the replay's clock (not on today's), and nothing is left behind."""
    from tests.conftest import make_broker
    from tests.services import PG_ADMIN_URL, require

    require("postgresql")
    broker = make_broker(broker_kind, monkeypatch)  # empty queues, named in the settings
    broker.close()
    name = f"automation_demo_{os.getpid()}_{broker_kind}"
    admin = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    monkeypatch.setenv("AUTOMATION_DATABASE_URL", url)
    reset_settings()
    days = 4
    try:
        console = Console(file=io.StringIO(), width=100)
        results = run_demo(customers=CUSTOMERS, days=days, out=tmp_path / "out", console=console)
        printed = console.file.getvalue()  # type: ignore[attr-defined]
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            sent_at = conn.execute(
                text(
                    "SELECT min(sent_at), max(sent_at), count(*) FROM messages "
                    "WHERE status = 'sent'"
                )
            ).one()
            processed = conn.execute(
                text("SELECT min(processed_at), max(processed_at) FROM events")
            ).one()
            eml = conn.execute(
                text("SELECT count(*) FROM messages WHERE status = 'sent' AND channel = 'email'")
            ).scalar_one()
        engine.dispose()
    finally:
        from automation import db

        db.engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    assert "2 worker processes on" in printed
    log = (tmp_path / "out" / "workers.log").read_text()
    assert "Worker process is ready for action" in log
    start = START  # the replay's first day
    end = START + timedelta(days=days)
    assert sent_at[2] > 0
    assert start <= sent_at[0] and sent_at[1] <= end  # the workers' clock was the replay's
    assert start <= processed[0] and processed[1] <= end
    assert results["events"]["unprocessed"] == 0 and results["events"]["failed"] == 0
    assert results["engine"]["actor_failures"] == 0
    sink = tmp_path / "out" / "outbox" / "email"  # the workers wrote to the demo's folder
    assert eml == results["files"]["eml"] == len(list(sink.glob("*.eml")))


def test_the_demo_offers_again_what_a_lost_broker_message_left_waiting(
    postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event stored whose broker message never came (published nowhere here): the
    pool notices that nothing moves, the relay offers it again, a worker processes it."""
    from automation.demo import workers
    from automation.events.ingest import ingest
    from tests.conftest import make_broker

    make_broker("redis", monkeypatch).close()
    monkeypatch.setattr(workers, "STALL_SECONDS", 0.5)
    with clock.frozen_at(START):
        event = {
            "event_id": "lost-1",
            "type": "page_view",
            "occurred_at": START.isoformat(),
            "visitor_id": "v-lost",
            "properties": {"url": "https://example.com/"},
        }
        ingest([event], publish=False)
        pool = workers.WorkerPool(tmp_path / "workers.log", processes=1, threads=1)
        try:
            pool()
        finally:
            pool.close()
    from automation.db import get_engine

    with get_engine().connect() as conn:
        processed = conn.execute(
            text("SELECT processed_at FROM events WHERE event_id = 'lost-1'")
        ).scalar_one()
    assert processed is not None and clock.to_utc(processed) == START
