"""Time in conditions: durations (``3d``), relative times (``-30d``) and calendar dates
in the business time zone."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from automation.config import get_settings

MAX_DURATION = timedelta(days=365_000)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = timedelta(weeks=1)


def parse_duration(text: str) -> timedelta:
    """A positive duration: a whole number and a unit, ``30m``, ``12h``, ``3d``, ``2w``.

    Raises:
        ValueError: with the reason (no unit, zero, negative, unknown unit, too long).
    """
    match = (
        re.fullmatch(r"(-?)(\d+)\s*([A-Za-z]*)", text.strip()) if isinstance(text, str) else None
    )
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: use a whole number and a unit (30m, 12h, 3d, 2w)"
        )
    sign, amount, unit = match[1], int(match[2]), match[3]
    if not unit:
        raise ValueError(f"duration {text!r} has no unit: add m, h, d or w (e.g. {amount}d)")
    if unit not in _UNITS:
        raise ValueError(f"unknown unit {unit!r} in {text!r}: use m, h, d or w (a year is 365d)")
    if sign:
        raise ValueError(f"duration {text!r} is negative: give a length such as {amount}{unit}")
    if amount == 0:
        raise ValueError(f"duration {text!r} is zero: it must be at least 1{unit}")
    if amount * _UNITS[unit] > MAX_DURATION:
        raise ValueError(f"duration {text!r} is too long (at most {MAX_DURATION.days}d)")
    return amount * _UNITS[unit]


@dataclass(frozen=True, slots=True)
class Relative:
    """``-30d`` / ``+7d``: a time relative to the evaluation's now."""

    delta: timedelta


def relative(text: str) -> Relative:
    """``text`` (a sign and a duration, ``-30d``) as a :class:`Relative`.

    Raises:
        ValueError: the part after the sign is not a duration (see :func:`parse_duration`).
    """
    delta = parse_duration(text[1:])
    return Relative(-delta if text.startswith("-") else delta)


def business_tz() -> tzinfo:
    """The business time zone (``settings.timezone``)."""
    return ZoneInfo(get_settings().timezone)


def local_date(value: datetime, tz: tzinfo) -> date:
    """The calendar date of ``value`` in ``tz`` (a naive value is taken as UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(tz).date()


def celebrated_on(day: date) -> list[tuple[int, int]]:
    """(month, day) pairs whose anniversary falls on ``day``: 29 Feb joins 28 Feb in
    years without one."""
    pairs = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        pairs.append((2, 29))
    return pairs


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
