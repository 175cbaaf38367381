"""The advertising-consent re-confirmation in the campaign report (정보통신망법 §50).

- **asked**: customers who entered ``consent-reconfirm`` in the period (its first
  message asks); **answered**: of them, those whose enrollment converted (the page
  recorded their advertising consent, kept or withdrawn); **no_answer**: those whose
  enrollment ended without an answer (the consent lapses on its date); **waiting**:
  still being asked.
- **kept** / **withdrawn**: answers given on the consent page (``consent_changed``
  with source ``consent_page``) in the period, per consent kind (email, sms, call,
  ad, night). Keeping renews the consent; "no" to what was never given is no answer.
- **suppressed_expired**: messages decided in the period and suppressed as
  ``ad_consent_expired`` (advertising to a customer whose consent lapsed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select

from automation.db import get_engine
from automation.models import Enrollment, EnrollmentStatus, Event, Message
from automation.reports.period import Period

JOURNEY = "consent-reconfirm"
PAGE_SOURCE = "consent_page"
EXPIRED = "ad_consent_expired"
_events = Event.__table__  # type: ignore[attr-defined]
_messages = Message.__table__  # type: ignore[attr-defined]
_enrollments = Enrollment.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ConsentFigures:
    """The re-confirmation's figures of one period (definitions above)."""

    asked: int = 0
    answered: int = 0
    no_answer: int = 0
    waiting: int = 0
    kept: dict[str, int] = field(default_factory=dict)  # kind → answers
    withdrawn: dict[str, int] = field(default_factory=dict)
    suppressed_expired: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "answered": self.answered,
            "no_answer": self.no_answer,
            "waiting": self.waiting,
            "kept": dict(sorted(self.kept.items())),
            "withdrawn": dict(sorted(self.withdrawn.items())),
            "suppressed_ad_consent_expired": self.suppressed_expired,
        }


def consent_figures(period: Period) -> ConsentFigures:
    """The re-confirmation's figures for ``period``."""
    start, end = period.start_utc, period.end_utc
    e, m, n = _events, _messages, _enrollments
    with get_engine().begin() as conn:
        statuses = Counter(
            {
                status: int(count)
                for status, count in conn.execute(
                    select(n.c.status, func.count())
                    .where(
                        n.c.journey_id == JOURNEY,
                        n.c.control.is_(False),
                        n.c.entered_at >= start,
                        n.c.entered_at < end,
                    )
                    .group_by(n.c.status)
                )
            }
        )
        answers = conn.execute(
            select(e.c.properties).where(
                e.c.type == "consent_changed", e.c.occurred_at >= start, e.c.occurred_at < end
            )
        ).scalars()
        kept: Counter[str] = Counter()
        withdrawn: Counter[str] = Counter()
        for props in answers:
            if not isinstance(props, dict) or props.get("source") != PAGE_SOURCE:
                continue
            kind, granted = str(props.get("kind")), props.get("granted")
            (kept if granted is True else withdrawn)[kind] += 1
        expired = conn.execute(
            select(func.count()).where(
                and_(
                    m.c.status == "suppressed",
                    m.c.reason == EXPIRED,
                    m.c.created_at >= start,
                    m.c.created_at < end,
                )
            )
        ).scalar_one()
    return ConsentFigures(
        asked=sum(statuses.values()),
        answered=statuses[EnrollmentStatus.CONVERTED.value],
        no_answer=statuses[EnrollmentStatus.COMPLETED.value]
        + statuses[EnrollmentStatus.EXITED.value],
        waiting=statuses[EnrollmentStatus.ACTIVE.value],
        kept=dict(kept),
        withdrawn=dict(withdrawn),
        suppressed_expired=int(expired),
    )
