"""The tiers job: every customer's value tier recomputed once a day.

A policy event recomputes its customer at once (the profile step); this job catches
what no event announces: tenure that reaches ``VIP_MIN_TENURE_YEARS`` with time, and
policies written by an import or the CRM. The business day is due once the local
clock passes ``DAILY_JOB_HOUR``; after an outage one recompute as of the latest day
covers the missed ones (the rules only look at today). It stores no event: the
segments job, next in the job table, moves the changed customers in and out of the
``vip`` and ``regular`` segments and emits their ``segment_entered``/``segment_exited``
events, whose ids name that refresh.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from automation import clock
from automation.config import get_settings
from automation.customers.tiers import recompute
from automation.scheduler import state

JOB = "tiers"


def run_tiers(now: datetime | None = None) -> int:
    """Recompute the tiers if today's recompute is due; returns 0 (no events stored)."""
    settings = get_settings()
    local = clock.to_utc(now or clock.now()).in_tz(settings.timezone)
    today = local.date()
    if local.hour < settings.daily_job_hour:
        today -= timedelta(days=1)
    due = state.due_days(JOB, "*", today)
    if not due:
        return 0
    changed = recompute(due[-1])
    state.day_done(JOB, "*", due[-1], changed)
    return 0
