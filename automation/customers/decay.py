"""Time arithmetic shared by the preferences and the prospect score: exponential decay
with a half-life, and stored times (ISO 8601, UTC, to the second)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from automation.config import get_settings


def half_life_days() -> float:
    """The preferences' and the prospect score's half-life, in days."""
    return get_settings().preference_half_life_days


def decay(elapsed: timedelta, half_life: float) -> float:
    """The weight left after ``elapsed`` (never more than 1)."""
    days = max(elapsed.total_seconds(), 0.0) / 86400
    return float(0.5 ** (days / half_life))


def parse_time(text: str) -> datetime:
    """A stored time (ISO 8601, UTC)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored time {text!r} has no zone")
    return value.astimezone(UTC)


def iso(at: datetime) -> str:
    """``at`` as a stored time."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def local_date(at: datetime) -> str:
    """The business time zone's date of ``at``."""
    return at.astimezone(ZoneInfo(get_settings().timezone)).date().isoformat()


def round4(value: float) -> float:
    """A stored score (four decimals)."""
    return round(value, 4)


def half_up(value: float) -> int:
    """Points rounded as a person adds them: Python's round() goes to even (2.5 → 2)."""
    return int(value + 0.5)
