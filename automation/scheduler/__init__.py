"""The scheduler: one leader among any number of processes (``leader.py``) runs a
handful of periodic jobs (``jobs/``), each of which emits events through ingest with
deterministic ids; ``state.py`` remembers the days done, ``runner.py`` runs a job,
``service.py`` is the APScheduler loop of the leader."""

from automation.scheduler.jobs import JOBS, Job
from automation.scheduler.runner import run_all, run_job
from automation.scheduler.service import SchedulerService

__all__ = ["JOBS", "Job", "SchedulerService", "run_all", "run_job"]
