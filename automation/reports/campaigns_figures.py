"""The campaign report's figures as dataclasses, and their JSON form (``to_dict``).

The definitions are in ``campaigns``'s docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from automation.reports.campaigns_consent import ConsentFigures
from automation.reports.period import Period


@dataclass(frozen=True, slots=True)
class Counts:
    """The figures of a set of messages (definitions in ``campaigns``'s docstring)."""

    decided: int = 0
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    scanner_opened: int = 0
    scanner_clicked: int = 0
    replied: int = 0
    converted: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)  # reason → messages
    deferred: int = 0
    failed: int = 0
    review: int = 0
    waiting: int = 0
    call_outcomes: dict[str, int] = field(default_factory=dict)  # outcome → messages

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())

    @property
    def open_rate(self) -> float | None:
        return _rate(self.opened, self.delivered)

    @property
    def click_rate(self) -> float | None:
        return _rate(self.clicked, self.delivered)

    @property
    def conversion_rate(self) -> float | None:
        return _rate(self.converted, self.sent)

    def __add__(self, other: Counts) -> Counts:
        values: dict[str, Any] = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = _merged(a, b) if isinstance(a, dict) else a + b
        return Counts(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; dictionaries sorted by count (most first), rates to 4 places."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _ranked(value) if isinstance(value, dict) else value
        out["suppressed_total"] = self.suppressed_total
        for name in ("open_rate", "click_rate", "conversion_rate"):
            rate = getattr(self, name)
            out[name] = None if rate is None else round(rate, 4)
        return out


@dataclass(frozen=True, slots=True)
class CampaignRow:
    """One group of messages: its dimension values and its figures."""

    key: dict[str, str | int | None]  # dimension → value (None: messages without one)
    counts: Counts

    def to_dict(self) -> dict[str, Any]:
        return {**self.key, **self.counts.to_dict()}


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """Campaign results of one period, by the dimensions in ``by``."""

    period: Period
    by: tuple[str, ...]
    rows: list[CampaignRow]
    channels: list[CampaignRow]  # one per channel, whatever ``by`` is
    total: Counts
    consent: ConsentFigures = field(default_factory=ConsentFigures)  # re-confirmation

    @property
    def suppressed_by_reason(self) -> dict[str, int]:
        return self.total.suppressed

    def row(self, **key: str | int | None) -> CampaignRow:
        """The row whose dimensions have these values (for tests and tools)."""
        return next(r for r in self.rows if all(r.key.get(k) == v for k, v in key.items()))

    def channel(self, name: str) -> Counts:
        return next(r.counts for r in self.channels if r.key["channel"] == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "by": list(self.by),
            "rows": [r.to_dict() for r in self.rows],
            "channels": [r.to_dict() for r in self.channels],
            "total": self.total.to_dict(),
            "suppressed_by_reason": _ranked(self.suppressed_by_reason),
            "consent_reconfirmation": self.consent.to_dict(),
        }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _merged(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, n in b.items():
        out[k] = out.get(k, 0) + n
    return out


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
