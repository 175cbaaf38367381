"""The anniversaries job: birthdays, policy anniversaries and sign-up anniversaries,
each on its day in the customer's own time zone, once a year.

The job works zone by zone (customers' zones are few): a zone's day is due once its
local clock passes ``DAILY_JOB_HOUR``; the scheduler's state remembers the last day
done per zone, so after an outage the missed days are covered in order, once. A
29 February anniversary is celebrated on 28 February in other years. Event ids
(``anniversary:<kind>:<customer or policy>:<year>``) make a day done twice harmless.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

import pendulum
from sqlalchemy import and_, extract, or_, select

from automation import clock
from automation.conditions.times import celebrated_on
from automation.config import get_settings
from automation.db import get_engine
from automation.events import catalog
from automation.events.schema import EventIn
from automation.models import Customer, Policy
from automation.scheduler import state
from automation.scheduler.jobs.emit import emit

JOB = "anniversaries"
_customers = Customer.__table__  # type: ignore[attr-defined]
_policies = Policy.__table__  # type: ignore[attr-defined]
log = logging.getLogger(__name__)


def run_anniversaries(now: datetime | None = None) -> int:
    """Emit the anniversaries of every zone's due days; returns how many were new."""
    at = clock.to_utc(now or clock.now())
    emitted = 0
    for zone in _zones():
        try:
            local = at.in_tz(zone)
        except (ValueError, KeyError):  # pendulum's InvalidTimezone is a ValueError
            log.error("customers with unknown time zone '%s' get no anniversaries", zone)
            continue
        today = local.date()
        if local.hour < get_settings().daily_job_hour:
            today -= timedelta(days=1)
        for day in state.due_days(JOB, zone, today):
            n = emit(anniversaries_on(day, zone, at))
            state.day_done(JOB, zone, day, n)
            emitted += n
    return emitted


def anniversaries_on(day: date, zone: str, at: datetime) -> list[EventIn]:
    """The anniversary events of ``day`` for customers living in ``zone``."""
    send_at = pendulum.datetime(
        day.year, day.month, day.day, get_settings().daily_job_hour, tz=zone
    )
    occurred = min(clock.to_utc(send_at), clock.to_utc(at))
    events = [
        catalog.anniversary("birthday", cid, cid, day, born, occurred)
        for cid, born in _birthdays(day, zone)
    ]
    events += [
        catalog.anniversary("policy", pid, cid, day, start, occurred, policy_id=pid)
        for pid, cid, start in _policy_anniversaries(day, zone)
    ]
    events += [
        catalog.anniversary("signup", cid, cid, day, joined, occurred)
        for cid, joined in _signups(day, zone)
    ]
    return events


def _on(column: Any, pairs: list[tuple[int, int]]) -> Any:
    return or_(
        *(and_(extract("month", column) == m, extract("day", column) == d) for m, d in pairs)
    )


def _zones() -> list[str]:
    with get_engine().connect() as conn:
        return [z for z in conn.execute(select(_customers.c.timezone).distinct()).scalars() if z]


def _birthdays(day: date, zone: str) -> list[tuple[str, date]]:
    c = _customers
    query = select(c.c.customer_id, c.c.birth_date).where(
        c.c.timezone == zone, c.c.birth_date.is_not(None), _on(c.c.birth_date, celebrated_on(day))
    )
    with get_engine().connect() as conn:
        return [(cid, born) for cid, born in conn.execute(query) if born.year < day.year]


def _policy_anniversaries(day: date, zone: str) -> list[tuple[str, str, date]]:
    c, p = _customers, _policies
    query = (
        select(p.c.policy_id, p.c.customer_id, p.c.start_date)
        .join(c, c.c.customer_id == p.c.customer_id)
        .where(
            c.c.timezone == zone,
            p.c.status == "active",
            p.c.start_date.is_not(None),
            _on(p.c.start_date, celebrated_on(day)),
        )
    )
    with get_engine().connect() as conn:
        return [
            (pid, cid, start) for pid, cid, start in conn.execute(query) if start.year < day.year
        ]


def _signups(day: date, zone: str) -> list[tuple[str, date]]:
    # joined_at is a UTC instant: its local date is the UTC date or a day either side,
    # so SQL narrows to those three and Python decides in the zone.
    c = _customers
    wanted = celebrated_on(day)
    near = [
        pair
        for d in (day - timedelta(days=1), day, day + timedelta(days=1))
        for pair in celebrated_on(d)
    ]
    query = select(c.c.customer_id, c.c.joined_at).where(
        c.c.timezone == zone, c.c.joined_at.is_not(None), _on(c.c.joined_at, near)
    )
    found = []
    with get_engine().connect() as conn:
        for cid, joined in conn.execute(query):
            local = clock.to_utc(joined).in_tz(zone).date()
            if (local.month, local.day) in wanted and local.year < day.year:
                found.append((cid, local))
    return found
