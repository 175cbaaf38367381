"""The real processes a user starts: `dramatiq worker` and `automation serve`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from automation.config import reset_settings
from automation.events.ingest import ingest
from automation.events.outbox import unprocessed_count
from tests.conftest import make_broker
from tests.helpers import customer, ev
from tests.peers import free_port
from tests.worker.procs import ROOT, env_with, wait_until


def _ended(proc: subprocess.Popen[bytes]) -> bool:
    """The process has exited (a refusal at start: no use waiting for it)."""
    return proc.poll() is not None


WORKER_COMMANDS = {
    "dramatiq worker": ["-m", "dramatiq", "worker", "--processes", "1", "--threads", "2"],
    "automation worker": ["-m", "automation.cli", "worker", "--processes", "1", "--threads", "2"],
}


@pytest.mark.parametrize("command", sorted(WORKER_COMMANDS))
@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"])
def test_a_separate_worker_process_processes_events(
    command: str,
    broker_kind: str,
    postgres_database: str,
    monkeypatch: pytest.MonkeyPatch,
    stop_later: list[subprocess.Popen[bytes]],
) -> None:
    broker = make_broker(broker_kind, monkeypatch)
    ingest(
        [
            ev("s", "signup", visitor_id="v1", customer_id="C1"),
            ev("b", "policy_purchased", customer_id="C1", properties={"policy_id": "P1"}),
        ]
    )
    assert unprocessed_count() == 2
    # A production worker needs the site the mails link to and an https PUBLIC_URL.
    production = {
        "AUTOMATION_SITE_URL": "https://www.example.com",
        "AUTOMATION_PUBLIC_URL": "https://crm.example.com",
    }
    worker = subprocess.Popen(
        [sys.executable, *WORKER_COMMANDS[command]],
        cwd=ROOT,
        env=env_with(**production),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stop_later.append(worker)
    wait_until(lambda: unprocessed_count() == 0 or _ended(worker))
    assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
    c = customer("C1")
    assert c is not None and c.lifecycle_stage == "customer"
    broker.close()


def test_serve_takes_events_over_http_and_processes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop_later: list[subprocess.Popen[bytes]]
) -> None:
    automation = [sys.executable, "-m", "automation.cli"]
    env = env_with()
    subprocess.run([*automation, "db", "upgrade"], cwd=tmp_path, env=env, check=True)
    key = subprocess.run(
        [*automation, "keys", "create", "ingest"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [*automation, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stop_later.append(server)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _healthy(base), timeout=30)
    batch = {
        "events": [
            ev("s", "signup", visitor_id="v1", customer_id="C1"),
            ev("p", visitor_id="v1", at="2026-11-22T10:05:00+09:00"),
        ]
    }
    response = httpx.post(f"{base}/v1/events", json=batch, headers={"X-API-Key": key})
    assert response.status_code == 202, response.text
    monkeypatch.setenv("AUTOMATION_DATABASE_URL", f"sqlite:///{tmp_path}/automation.db")
    reset_settings()
    wait_until(lambda: unprocessed_count() == 0, timeout=30)
    c = customer("C1")
    assert c is not None and c.last_seen_at is not None
    assert "automation_events_processed_total" in httpx.get(f"{base}/metrics").text


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize(("setting", "expected"), [(None, 7000), ("2500", 2500), ("0", 700)])
def test_a_worker_process_collects_garbage_as_worker_gc_threshold_says(
    setting: str | None, expected: int, tmp_path: Path
) -> None:
    env = {k: v for k, v in env_with().items() if k != "AUTOMATION_WORKER_GC_THRESHOLD"}
    env["AUTOMATION_DATABASE_URL"] = f"sqlite:///{tmp_path / 'gc.db'}"
    env["AUTOMATION_BROKER_URL"] = "stub://"
    if setting is not None:
        env["AUTOMATION_WORKER_GC_THRESHOLD"] = setting
    # What `dramatiq automation.worker.actors` does first: import the actors module.
    shown = subprocess.run(
        [sys.executable, "-c", "import gc, automation.worker.actors; print(gc.get_threshold()[0])"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert int(shown.stdout.strip()) == expected
