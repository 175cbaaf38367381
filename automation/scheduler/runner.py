"""Running jobs: once each for ``automation tick``, or one at a time for the service."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from automation import clock
from automation.db.sql import retry_conflicts
from automation.scheduler import state
from automation.scheduler.jobs import JOBS, Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRun:
    """What one run of a job did."""

    job: str
    emitted: int
    error: str | None = None


def run_job(job: Job, now: datetime | None = None) -> JobRun:
    """Run ``job`` at ``now``; an error is logged and reported, never raised, so one
    failing job does not stop the others.

    A job that loses a deadlock to a worker (the segments refresh and a worker's segment
    step entering the same customers in different orders) runs again: every job is
    idempotent, its events keyed by what they report, and PostgreSQL rolled back only
    the losing transaction."""
    at = clock.to_utc(now or clock.now())
    try:
        emitted = retry_conflicts(lambda: job.run(at))
    except Exception as exc:
        log.exception("scheduler job %s failed", job.name)
        return JobRun(job.name, 0, f"{type(exc).__name__}: {exc}")
    state.ran(job.name, emitted, at)
    return JobRun(job.name, emitted)


def run_all(now: datetime | None = None) -> list[JobRun]:
    """Every job once, in order, at ``now`` (what ``automation tick`` does)."""
    at = clock.to_utc(now or clock.now())
    return [run_job(job, at) for job in JOBS]
