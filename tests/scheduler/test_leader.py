"""One leader at a time: two started at once, a leader that dies, a leader cut off
mid-job; on PostgreSQL (advisory lock) and SQLite (file lock)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from automation.config import get_settings
from automation.scheduler import state
from automation.scheduler.jobs import Job
from automation.scheduler.leader import leadership_for
from automation.scheduler.service import SchedulerService


def _until(condition: Callable[[], bool], timeout: float = 15.0) -> float:
    """Seconds it took ``condition`` to hold; fails after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - start


def test_two_leaders_started_at_once_one_wins(database: str) -> None:
    contenders = [leadership_for(database) for _ in range(4)]
    barrier = threading.Barrier(len(contenders))
    won: list[bool] = [False] * len(contenders)

    def contend(i: int) -> None:
        barrier.wait()
        won[i] = contenders[i].acquire()

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(contenders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(won) == 1
    leader = contenders[won.index(True)]
    assert leader.holds()
    assert not any(c.acquire() for c in contenders if c is not leader)
    leader.release()
    assert not leader.holds()
    assert contenders[won.index(False)].acquire()
    for c in contenders:
        c.release()


@pytest.fixture
def services(database: str) -> Iterator[list[tuple[SchedulerService, threading.Event]]]:
    started: list[tuple[SchedulerService, threading.Event, threading.Thread]] = []
    yield started  # type: ignore[misc]
    for _, stop, thread in started:  # type: ignore[misc]
        stop.set()
        thread.join(timeout=10)


def _start(
    started: list, jobs: list[Job], poll: float = 0.1
) -> tuple[SchedulerService, threading.Event]:
    service = SchedulerService(jobs=jobs, poll_seconds=poll)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    started.append((service, stop, thread))
    return service, stop


def test_a_follower_takes_over_when_the_leader_stops(services: list, database: str) -> None:
    runs: list[str] = []
    first, stop_first = _start(services, [Job("probe", 0.05, lambda _: runs.append("a") or 0, "")])
    _until(first.leading.is_set)
    second, _ = _start(services, [Job("probe", 0.05, lambda _: runs.append("b") or 0, "")])
    time.sleep(0.5)
    assert not second.leading.is_set() and "b" not in runs
    stop_first.set()
    took = _until(second.leading.is_set)
    assert took < 5
    _until(lambda: "b" in runs)
    assert not first.leading.is_set()


def test_a_leader_cut_off_mid_job_steps_down_and_the_follower_leads(
    services: list, postgres_database: str
) -> None:
    in_job, release = threading.Event(), threading.Event()

    def slow(_: datetime) -> int:
        in_job.set()
        release.wait(10)
        return 0

    first, _ = _start(services, [Job("slow", 0.05, slow, "")])
    in_job.wait(10)
    # What a crashed host or a network cut looks like to PostgreSQL: the session ends
    # and its advisory lock with it.
    admin = create_engine(
        postgres_database.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()
    runs: list[str] = []
    second, _ = _start(services, [Job("probe", 0.05, lambda _: runs.append("b") or 0, "")])
    _until(second.leading.is_set)
    release.set()  # the old leader's job ends; it finds the lock gone and stops leading
    _until(lambda: not first.leading.is_set())
    _until(lambda: "b" in runs)


def test_a_killed_scheduler_process_is_replaced_within_seconds(database: str) -> None:
    env = {
        **os.environ,
        "AUTOMATION_DATABASE_URL": database,
        "AUTOMATION_SCHEDULER_POLL_SECONDS": "0.2",
    }
    env.setdefault("AUTOMATION_SECRET_KEY", get_settings().secret_key)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from automation.cli import main; main(['scheduler'])"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        _until(lambda: any("scheduler: leading" in line for line in lines))
        follower = leadership_for(database)
        assert not follower.acquire()
        _until(lambda: bool(state.runs()))  # it is at work
        proc.kill()  # no clean-up: the kernel / PostgreSQL drop its lock
        proc.wait(10)
        took = _until(follower.acquire)
        assert took < 5
        follower.release()
    finally:
        proc.kill()
        proc.wait(10)
        reader.join(5)
        proc.stderr.close()
