"""Setting the harness up and taking it down: its database, its broker, its SMTP server
and SMS gateway, the engine's processes, and this process as the site that ingests."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from automation.config import reset_settings
from automation.db import get_engine
from tests.faults.brokers import OwnRabbit, OwnRedis, rabbitmqctl_problem
from tests.faults.fleet import Fleet
from tests.faults.sinks import SmsGateway, SmtpSink
from tests.faults.world import HarnessDatabase, populate
from tests.services import UNDER_CI, require
from tests.worker.procs import wait_until

CUSTOMERS = 2_000  # more than the stream signs up in a run
# Production's settings, with shorter waits so a run takes minutes, not hours: the relay
# offers an event again after 5 s (60), a message left 'sending' goes to review after
# 15 s (600), a transient failure is retried after 2 s (60), a follower tries to lead
# every second (2).
SHORTER_WAITS = {
    "AUTOMATION_RELAY_GRACE_SECONDS": "5",
    "AUTOMATION_SENDING_GRACE_SECONDS": "15",
    "AUTOMATION_DELIVERY_RETRY_SECONDS": "2",
    "AUTOMATION_SCHEDULER_POLL_SECONDS": "1",
}


def need(problem: str | None) -> None:
    """Skip (locally) or fail (under CI) when something the harness needs is missing."""
    if problem is None:
        return
    if UNDER_CI:
        pytest.fail(f"{problem}, and CI=true: the fault harness must run", pytrace=False)
    pytest.skip(f"{problem}; the fault harness needs it (CI requires it)")


def own_broker(kind: str) -> OwnRedis | OwnRabbit:
    """The harness's own broker of ``kind``, or a skip (a failure under CI) saying why not."""
    require("postgresql")
    if kind == "redis":
        need(None if shutil.which("redis-server") else "redis-server is not installed")
        return OwnRedis()
    require("rabbitmq")
    need(rabbitmqctl_problem())
    return OwnRabbit()


@dataclass
class Harness:
    database: HarnessDatabase
    broker: OwnRedis | OwnRabbit
    smtp: SmtpSink
    sms: SmsGateway
    fleet: Fleet


@contextmanager
def harness(kind: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """Everything started, in order; everything stopped and removed afterwards."""
    broker = own_broker(kind)
    with ExitStack() as stack:
        database = HarnessDatabase()
        database.create()
        stack.callback(database.drop)
        broker.start()
        stack.callback(broker.close)
        smtp, sms = SmtpSink(), SmsGateway()
        smtp.start()
        stack.callback(smtp.stop)
        sms.start()
        stack.callback(sms.close)
        _ingest_here(database, broker.url, monkeypatch, stack)
        populate(folder, CUSTOMERS)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOMATION_")}
        env.update(
            AUTOMATION_BROKER_URL=broker.url,
            AUTOMATION_SECRET_KEY="faults-secret",
            AUTOMATION_SITE_URL="https://www.example.com",
            AUTOMATION_PUBLIC_URL="https://crm.example.com",
            AUTOMATION_SMTP_URL=smtp.url,
            AUTOMATION_SMS_URL=sms.url,
            **SHORTER_WAITS,
        )
        fleet = Fleet(database, env, folder)
        stack.callback(fleet.stop)
        fleet.start_worker()
        fleet.start_schedulers()
        wait_until(lambda: len(fleet.worker_children()) == 2, timeout=30)
        wait_until(lambda: fleet.leader() is not None, timeout=30)
        yield Harness(database, broker, smtp, sms, fleet)


def _ingest_here(
    database: HarnessDatabase, url: str, monkeypatch: pytest.MonkeyPatch, stack: ExitStack
) -> None:
    """This process ingests, as the API would: the harness's database and broker."""
    from automation.broker import build_broker
    from automation.worker.actors import use_broker

    monkeypatch.setenv("AUTOMATION_DATABASE_URL", database.url_for("faults-harness"))
    monkeypatch.setenv("AUTOMATION_BROKER_URL", url)
    monkeypatch.setenv("AUTOMATION_SECRET_KEY", "faults-secret")
    reset_settings()
    broker = use_broker(build_broker(url))
    stack.callback(broker.close)


def settled() -> bool:
    """No event left to process, no message on its way, no due timer unfired."""
    with get_engine().connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM events WHERE processed_at IS NULL)"
                " + (SELECT count(*) FROM messages"
                "    WHERE status IN ('queued', 'deferred', 'sending'))"
                " + (SELECT count(*) FROM timers WHERE fired_at IS NULL AND due_at <= now())"
            )
        ).scalar_one()
    return int(waiting) == 0


def wait_settled(timeout: float) -> float | None:
    """Seconds until :func:`settled`; None if not within ``timeout``."""
    start = time.monotonic()
    while not _quietly(settled):
        if time.monotonic() - start > timeout:
            return None
        time.sleep(1)
    return time.monotonic() - start


def _quietly(check: object) -> bool:
    try:
        return bool(check())  # type: ignore[operator]
    except Exception:  # the database answered badly once: ask again
        return False
