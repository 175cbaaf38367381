"""The activity job: customers who stopped coming become dormant, then churned.

A customer with no visit or login for ``DORMANT_AFTER_DAYS`` (no activity at all:
since joining) gets ``customer_dormant``; a dormant one silent for
``CHURNED_AFTER_DAYS`` gets ``customer_churned``. The profile step sets the status
when it processes the event, and sets ``reactivated`` when a dormant or churned
customer comes back. Event ids name the last activity's day, so one silence gives
one event, and a customer who returns and goes quiet again gets a new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from automation import clock
from automation.config import get_settings
from automation.events import catalog
from automation.models import ActivityStatus, Customer
from automation.scheduler.jobs.emit import customer_pages, emit

_customers = Customer.__table__  # type: ignore[attr-defined]


def run_activity(now: datetime | None = None) -> int:
    """Emit dormant and churned events due at ``now``; returns how many were new."""
    at = clock.to_utc(now or clock.now())
    settings = get_settings()
    active = (ActivityStatus.ACTIVE.value, ActivityStatus.REACTIVATED.value)
    new = _emit_silent(
        at, active, timedelta(days=settings.dormant_after_days), "customer_dormant", "dormant"
    )
    new += _emit_silent(
        at,
        (ActivityStatus.DORMANT.value,),
        timedelta(days=settings.churned_after_days),
        "customer_churned",
        "churned",
    )
    return new


def _emit_silent(
    at: datetime, statuses: tuple[str, ...], silence: timedelta, type_: str, prefix: str
) -> int:
    c = _customers
    last_seen = func.coalesce(c.c.last_seen_at, c.c.joined_at, c.c.created_at)
    query = select(c.c.customer_id, last_seen).where(
        c.c.activity_status.in_(statuses), last_seen <= at - silence
    )
    return sum(
        emit([catalog.fell_silent(type_, cid, seen, at) for cid, seen in page])
        for page in customer_pages(query)
    )
