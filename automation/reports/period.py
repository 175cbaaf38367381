"""The reporting period: calendar dates, inclusive, in the business time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from automation import clock
from automation.config import get_settings

DEFAULT_DAYS = 30
# The dates a report may cover: nothing the engine stores is older than 2000, and a
# period of over five years is a mistake (and its SQL a table scan), not a report.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
MAX_DAYS = 5 * 366


@dataclass(frozen=True, slots=True)
class Period:
    """From ``start`` to ``end``, both dates included, in ``get_settings().timezone``.

    ``start_utc`` is local midnight of ``start`` and ``end_utc`` local midnight after
    ``end`` (exclusive), both aware UTC: what queries compare ``occurred_at`` with.
    """

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"period starts {self.start} after it ends {self.end}")
        if self.start < EARLIEST or self.end > LATEST:
            raise ValueError(
                f"{self.start} – {self.end} is outside {EARLIEST} – {LATEST}, "
                "the dates reports cover"
            )
        if self.days > MAX_DAYS:
            raise ValueError(
                f"{self.start} – {self.end} is {self.days:,} days long; "
                f"a report covers at most {MAX_DAYS:,} days (five years)"
            )

    @classmethod
    def last(cls, days: int = DEFAULT_DAYS, *, today: date | None = None) -> Period:
        """The ``days`` days up to and including today (by ``clock.now()``)."""
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"a period has 1 to {MAX_DAYS:,} days, not {days}")
        end = today or clock.local(get_settings().timezone).date()
        if end < EARLIEST:  # so the start below cannot fall off the calendar
            raise ValueError(f"a period ends on {EARLIEST} or later, not {end}")
        return cls(end - timedelta(days=days - 1), end)

    @classmethod
    def of(cls, start: date | str | None = None, end: date | str | None = None) -> Period:
        """From optional ISO dates: ``end`` defaults to today, ``start`` to 29 days before
        ``end`` (the last 30 days).

        Raises:
            ValueError: a date is not ``YYYY-MM-DD``, ``start`` is after ``end``, or the
                period is not within :data:`EARLIEST` – :data:`LATEST` and
                :data:`MAX_DAYS` long.
        """
        last = _date(end, "to") if end is not None else None
        if start is None:
            return cls.last(today=last)
        return cls(_date(start, "from"), last or clock.local(get_settings().timezone).date())

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def weeks(self) -> float:
        return self.days / 7

    @property
    def start_utc(self) -> datetime:
        return _midnight_utc(self.start)

    @property
    def end_utc(self) -> datetime:
        return _midnight_utc(self.end + timedelta(days=1))

    def to_dict(self) -> dict[str, object]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "days": self.days,
            "timezone": get_settings().timezone,
        }


def _midnight_utc(day: date) -> datetime:
    local = datetime.combine(day, time(), tzinfo=ZoneInfo(get_settings().timezone))
    return local.astimezone(UTC)


def _date(value: date | str, name: str) -> date:
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"--{name} {value!r} is not a date: use YYYY-MM-DD") from None
    if not EARLIEST <= day <= LATEST:
        raise ValueError(
            f"--{name} {day} is outside {EARLIEST} – {LATEST}, the dates reports cover"
        )
    return day
