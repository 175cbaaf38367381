"""The scheduler process: wait to lead, then run the jobs with APScheduler until told
to stop or until leadership is lost.

Every process keeps its own in-memory job store (APScheduler's FAQ: a job store
shared between schedulers fires jobs twice); only the leader starts one. Jobs are
interval jobs with ``coalesce`` and ``max_instances=1``: a job that overran, or a
process that was suspended, runs once, not once per missed interval. What a day's
work is, and catching up missed days, is the jobs' business (``state.py``), not
APScheduler's, so nothing depends on the process having been up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from automation.config import get_settings
from automation.scheduler.jobs import JOBS, Job
from automation.scheduler.leader import Leadership, leadership_for
from automation.scheduler.runner import run_job

log = logging.getLogger(__name__)


class SchedulerService:
    """One scheduler process (or thread): follower until it can lead."""

    def __init__(
        self,
        jobs: Sequence[Job] = JOBS,
        leadership: Leadership | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        settings = get_settings()
        self.jobs = jobs
        self.leadership = leadership or leadership_for(settings.database_url)
        self.poll = settings.scheduler_poll_seconds if poll_seconds is None else poll_seconds
        self.leading = threading.Event()
        self._job_lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set: try to lead every ``poll`` seconds; lead while we can."""
        while not stop.is_set():
            if self.leadership.acquire():
                try:
                    self._lead(stop)
                except Exception:  # never let the process die leaderless; try again
                    log.exception("scheduler: leading failed")
                finally:
                    self.leading.clear()
                    self.leadership.release()
            stop.wait(self.poll)

    def _lead(self, stop: threading.Event) -> None:
        log.info("scheduler: leading")
        self.leading.set()
        scheduler = BackgroundScheduler(
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        for job in self.jobs:
            scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=job.every),
                args=[job],
                id=job.name,
                name=job.what or job.name,
                next_run_time=datetime.now(UTC),  # APScheduler keeps real time; catch up at once
            )
        scheduler.start()
        try:
            while not stop.wait(self.poll):
                if not self.leadership.holds():
                    log.warning("scheduler: lost leadership; stepping down")
                    return
        finally:
            scheduler.shutdown(wait=True)  # let a running job finish its batch
            log.info("scheduler: stopped leading")

    def _run(self, job: Job) -> None:
        # One job at a time: they share the database, and SQLite has one writer.
        with self._job_lock:
            if self.leadership.holds():
                run_job(job)
