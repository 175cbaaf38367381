"""``kill -9`` of one worker process of ``automation worker``: it is started again, and
the messages it held are worked by the others within seconds (Redis: its short
heartbeat timeout; RabbitMQ: at once, when the connection closes). Before, the whole
command exited, and the held messages waited for the relay (about a minute)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from automation.events.ingest import ingest
from automation.events.outbox import unprocessed_count
from tests.conftest import make_broker
from tests.worker.procs import ROOT, children, env_with, wait_until

EVENTS = 12_000  # 120 messages: both processes hold all they may when one is killed
RECOVERED_WITHIN = 20.0  # seconds from the kill to the last event processed
PRODUCTION = {
    "AUTOMATION_SITE_URL": "https://www.example.com",
    "AUTOMATION_PUBLIC_URL": "https://crm.example.com",
}


@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"])
def test_a_killed_worker_process_is_restarted_and_its_messages_worked_in_seconds(
    broker_kind: str,
    postgres_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stop_later: list[subprocess.Popen[bytes]],
) -> None:
    broker = make_broker(broker_kind, monkeypatch)
    for start in range(0, EVENTS, 1000):  # no worker yet: the queue fills
        ingest(
            [
                {"event_id": f"e{i}", "type": "page_view", "visitor_id": f"v{i % 3000}"}
                | {"properties": {"url": "/products"}}
                for i in range(start, start + 1000)
            ]
        )
    command = ["-m", "automation.cli", "worker", "--processes", "2", "--threads", "2"]
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, *command], cwd=ROOT, env=env_with(**PRODUCTION), stderr=log
    )
    stop_later.append(worker)
    wait_until(lambda: len(children(worker.pid)) == 2, timeout=30)
    wait_until(lambda: unprocessed_count() < EVENTS * 0.9, timeout=60, every=0.02)
    first = children(worker.pid)
    os.kill(first[0], signal.SIGKILL)

    took = wait_until(lambda: unprocessed_count() == 0, timeout=RECOVERED_WITHIN + 40)
    print(f"\n{broker_kind}: every event processed {took:.1f}s after kill -9 of a worker process")
    assert took < RECOVERED_WITHIN
    assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    restarted = set(children(worker.pid)) - set(first)
    assert len(restarted) == 1 and first[1] in children(worker.pid)
    broker.close()
