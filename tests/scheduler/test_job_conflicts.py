"""A scheduler job that loses a deadlock to a worker runs again instead of failing."""

from __future__ import annotations

import threading
import time

import psycopg
from sqlmodel import col, select

from automation.db import session_scope
from automation.models import SegmentMember
from automation.scheduler.jobs import JOBS
from automation.scheduler.runner import JobRun, run_job
from automation.segments import registry
from tests.journey_world import World


def _lock_waits(conn: psycopg.Connection) -> int:
    """Backends of this database waiting on a lock (the refresh, once it is blocked)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    ).fetchone()
    return int(row[0]) if row else 0


def test_the_segments_job_beside_a_worker_survives_a_deadlock(postgres_database: str) -> None:
    """A worker's transaction enters C2 into ``customer``; the job's refresh enters C1,
    then waits on C2; the worker then enters C1 and waits on the refresh: a deadlock.
    PostgreSQL rolls the refresh back; the job runs again once the worker commits, reports
    no error, and both customers are members once."""
    world = World(builtin=False)
    registry.publish_builtin()
    for cid in ("C1", "C2"):  # C1 first: a sequential scan finds it first
        world.customer(cid, lifecycle_stage="customer")
    job = next(j for j in JOBS if j.name == "segments")
    url = postgres_database.replace("+psycopg", "")
    ran: list[JobRun] = []
    with psycopg.connect(url) as worker, psycopg.connect(url, autocommit=True) as watch:
        # The refresh, waiting first, is the one PostgreSQL's detector picks.
        worker.execute("SET deadlock_timeout = '10s'")
        enter = (
            "INSERT INTO segment_members (segment_id, customer_id, entered_at) "
            "VALUES ('customer', %s, now()) ON CONFLICT DO NOTHING"
        )
        worker.execute(enter, ("C2",))
        thread = threading.Thread(target=lambda: ran.append(run_job(job)))
        thread.start()
        deadline = time.monotonic() + 30
        while _lock_waits(watch) == 0:
            assert time.monotonic() < deadline, "the refresh never waited on the worker"
            time.sleep(0.02)
        worker.execute(enter, ("C1",))  # waits on the refresh's C1 until it is rolled back
        worker.commit()
        thread.join(timeout=60)
    assert ran and ran[0].error is None, ran
    with session_scope() as s:
        rows = s.exec(
            select(SegmentMember.customer_id)
            .where(SegmentMember.segment_id == "customer")
            .order_by(col(SegmentMember.customer_id))
        ).all()
    assert list(rows) == ["C1", "C2"]
