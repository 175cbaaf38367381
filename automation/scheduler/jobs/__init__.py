"""The scheduler's jobs: a handful of periodic functions, never one job per customer.

Each job takes "now" and returns how many events it stored; each emits through
ingest with ids that name what and when, so running it twice, or two leaders at
once for a moment, stores nothing twice. ``every`` is how often the scheduler runs
it; ``automation tick`` runs them all once, in this order (maturity and time-based
events first, so the timers and the relay of the same tick see them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from automation.scheduler.jobs.activity import run_activity
from automation.scheduler.jobs.anniversaries import run_anniversaries
from automation.scheduler.jobs.consent import run_consent
from automation.scheduler.jobs.maturity import run_maturity
from automation.scheduler.jobs.relay import run_relay
from automation.scheduler.jobs.segments import run_segments
from automation.scheduler.jobs.tiers import run_tiers
from automation.scheduler.jobs.timers import fire_due_timers


@dataclass(frozen=True)
class Job:
    """A periodic job: its name, how often it runs (seconds), and what it does."""

    name: str
    every: float
    run: Callable[[datetime], int]
    what: str


JOBS: tuple[Job, ...] = (
    Job("maturity", 600, run_maturity, "policies 20 days before maturity, and matured ones"),
    Job("anniversaries", 300, run_anniversaries, "birthdays and anniversaries, per zone"),
    Job("activity", 3600, run_activity, "dormant and churned customers"),
    Job("consent", 3600, run_consent, "advertising consent about to lapse, and lapsed"),
    Job("tiers", 3600, run_tiers, "value tiers recomputed once a day (before segments)"),
    Job("segments", 3600, run_segments, "segments refreshed: time moves customers in and out"),
    Job("timers", 10, fire_due_timers, "journey timers that are due"),
    Job("relay", 30, run_relay, "events stored but not processed, re-published"),
)


def job(name: str) -> Job:
    """The job called ``name``."""
    for candidate in JOBS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
