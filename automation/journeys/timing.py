"""When a journey timer is due: after a wait, or at a date field plus an offset, in
the customer's time zone, optionally moved into business hours."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pendulum

from automation.clock import plain_utc
from automation.config import get_settings
from automation.journeys.definition import TimerSpec


def due_at(timer: TimerSpec, entered: datetime, values: dict[str, Any], tz: str) -> datetime | None:
    """The UTC instant ``timer`` is due, or None when its date field has no value.

    Parameters:
      entered: when the customer entered the state (aware).
      values: the date fields a timer may name (``policy.maturity_date`` …).
      tz: the customer's time zone, for ``at`` timers.
    """
    if timer.kind == "after":
        assert timer.wait is not None
        if not timer.business_hours:
            # A wait is a length of time, the same in UTC as in any zone; plain datetime
            # arithmetic, because pendulum's cost more than the rest of a move's timer.
            return plain_utc(entered) + timer.wait
        due = pendulum.instance(entered) + timer.wait
    else:
        day = _as_date(values.get(timer.date_field or ""), tz)
        if day is None:
            return None
        local = pendulum.datetime(
            day.year, day.month, day.day, timer.at_time.hour, timer.at_time.minute, tz=tz
        )
        due = local + timer.offset
    if timer.business_hours:
        due = into_business_hours(due)
    return due.in_tz("UTC")


def into_business_hours(at: pendulum.DateTime) -> pendulum.DateTime:
    """``at`` if it is in business hours (weekdays, business time zone), else the next opening."""
    settings = get_settings()
    local = at.in_tz(settings.timezone)
    opening, closing = settings.business_hours_start, settings.business_hours_end
    for _ in range(8):
        if local.day_of_week not in (pendulum.SATURDAY, pendulum.SUNDAY):
            if local.hour < opening:
                return local.set(hour=opening, minute=0, second=0, microsecond=0)
            if local.hour < closing:
                return local
        local = local.add(days=1).set(hour=opening, minute=0, second=0, microsecond=0)
    return local


def _as_date(value: Any, tz: str) -> date | None:
    if isinstance(value, datetime):
        return pendulum.instance(value).in_tz(tz).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def until(due: datetime, now: datetime) -> timedelta:
    """How long until ``due`` (zero or more)."""
    return max(due - now, timedelta(0))
