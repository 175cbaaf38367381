"""Does online interest turn into policies? Conversion by level of interest, per segment
(seed 000 §3.2: "how much online preference affects actual insurance purchases").

Definitions:

- **reference point**: the start of the period's first day (local midnight, business
  time zone). Every customer is looked at as they stood then: their segments
  (``segment_groups``: members at that instant), their interest before it and their
  purchases after it. So the figure reads "of the customers who were this interested
  on day 1, how many bought within N days", and interest that a purchase itself caused
  (browsing the policy just bought) is never counted as its cause. ``--to`` only sets
  the default ``--from`` (29 days before it). A segment published after the reference
  point has no members then: it is listed in ``unrecorded``, not guessed.
- **interest**: their page views and visits (the web log's, ``weblog``) in the
  ``LOOKBACK_DAYS`` (30) days before the reference point. Levels, the higher of the
  two readings:

  ========  ===================  ==============
  level     page views           visits
  ========  ===================  ==============
  none      no web event at all  0
  low       1–4                  1
  medium    5–14                 2–3
  high      15 or more           4 or more
  ========  ===================  ==============

  (a visit of log-ins only, no page, is *low*).
- **converted**: a ``policy_purchased`` (a new policy; renewals are not purchases) in
  the ``days`` (default 30) after the reference point; *first* when they held no
  policy before it (no earlier purchase event and no ``first_policy_at`` before it),
  else *repeat*. When the window has not ended yet, ``observed_until`` is now and
  ``complete`` is false: the rates can still rise.
- **rate**: converted / customers of that level in that segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Subquery, and_, bindparam, case, exists, func, or_, select

from automation import clock
from automation.conditions import CUSTOMERS, EVENTS
from automation.db import get_engine
from automation.db.types import UTCDateTime
from automation.reports.period import Period
from automation.reports.segment_groups import (
    member_visits,
    members_at,
    segment_names,
    unrecorded,
)
from automation.reports.weblog_events import PURCHASE
from automation.reports.weblog_figures import ratio

LOOKBACK_DAYS = 30
DEFAULT_DAYS = 30
MAX_DAYS = 366
LEVELS = ("none", "low", "medium", "high")
# The lowest page views / visits of each level above none (``LEVELS[1:]``).
PAGE_CUTS = (1, 5, 15)
VISIT_CUTS = (1, 2, 4)
ALL = "all"
E = EVENTS.c


@dataclass(frozen=True, slots=True)
class InterestRow:
    """One segment's customers at one level of interest, and what they bought."""

    segment: str
    segment_name: str
    level: str
    customers: int
    converted: int
    first_policy: int
    repeat: int

    @property
    def rate(self) -> float:
        return ratio(self.converted, self.customers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "segment_name": self.segment_name,
            "interest": self.level,
            "customers": self.customers,
            "converted": self.converted,
            "first_policy": self.first_policy,
            "repeat": self.repeat,
            "rate": round(self.rate, 4),
        }


@dataclass(frozen=True, slots=True)
class InterestReport:
    """Per segment: its four levels, then its ``all`` row."""

    period: Period
    reference: datetime
    days: int
    observed_until: datetime
    segment: str | None
    rows: list[InterestRow]
    unrecorded: list[str]  # segments with no membership recorded at the reference point

    @property
    def complete(self) -> bool:
        return self.observed_until >= self.reference + timedelta(days=self.days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "reference": self.reference.isoformat(),
            "interest_from": (self.reference - timedelta(days=LOOKBACK_DAYS)).isoformat(),
            "days": self.days,
            "observed_until": self.observed_until.isoformat(),
            "complete": self.complete,
            "segment": self.segment,
            "unrecorded": self.unrecorded,
            "levels": {
                "page_views": dict(zip(LEVELS[1:], PAGE_CUTS, strict=True)),
                "visits": dict(zip(LEVELS[1:], VISIT_CUTS, strict=True)),
            },
            "rows": [r.to_dict() for r in self.rows],
        }


def interest_report(
    period: Period, days: int = DEFAULT_DAYS, segment: str | None = None
) -> InterestReport:
    """Conversion within ``days`` of the period's start, by interest before it.

    Raises:
        ValueError: ``days`` is not 1 to 366.
        UnknownSegment: ``segment`` names no published segment.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"--days {days}: 1 to {MAX_DAYS}")
    reference = period.start_utc
    until = reference + timedelta(days=days)
    observed = min(clock.now(), until)
    with get_engine().connect() as conn:
        names = segment_names(conn, segment)
        missing = unrecorded(conn, list(names), reference)
        members = members_at(reference, None if segment is None else [segment])
        statement = _statement(members, reference, observed, conn)
        params = {
            "period_start": reference - timedelta(days=LOOKBACK_DAYS),
            "period_end": reference,
        }
        counted = {(r.segment_id, r.level): r for r in conn.execute(statement, params)}
    rows: list[InterestRow] = []
    for seg, name in names.items():
        levels = [
            InterestRow(seg, name, level, *_counts(counted.get((seg, level)))) for level in LEVELS
        ]
        total = InterestRow(seg, name, ALL, *(sum(getattr(r, f) for r in levels) for f in _FIGURES))
        rows.extend([*levels, total])
    return InterestReport(period, reference, days, observed, segment, rows, missing)


_FIGURES = ("customers", "converted", "first_policy", "repeat")


def _counts(row: Any) -> tuple[int, int, int, int]:
    if row is None:
        return (0, 0, 0, 0)
    return (int(row.customers), int(row.converted), int(row.first_policy), int(row.repeat))


def _statement(members: Subquery, reference: datetime, until: datetime, conn: Connection) -> Any:
    """Per (segment, level): customers, converted, first-policy and repeat converts."""
    m = members.c
    interest = member_visits(members, conn, "interest")
    i = interest.c
    start = bindparam(None, reference, type_=UTCDateTime(), unique=True)
    end = bindparam(None, until, type_=UTCDateTime(), unique=True)
    bought = exists().where(
        E.customer_id == m.customer_id,
        E.type == PURCHASE,
        E.occurred_at >= start,
        E.occurred_at < end,
    )
    held = or_(
        CUSTOMERS.c.first_policy_at < start,
        exists().where(E.customer_id == m.customer_id, E.type == PURCHASE, E.occurred_at < start),
    )
    pages, visits = func.coalesce(i.pages, 0), func.coalesce(i.visits, 0)
    level = case(
        (visits == 0, "none"),
        (or_(pages >= PAGE_CUTS[2], visits >= VISIT_CUTS[2]), "high"),
        (or_(pages >= PAGE_CUTS[1], visits >= VISIT_CUTS[1]), "medium"),
        else_="low",
    )
    per_customer = (
        select(
            m.segment_id,
            level.label("level"),
            case((bought, 1), else_=0).label("converted"),
            case((and_(bought, held), 1), else_=0).label("repeat"),
        )
        .select_from(
            members.join(CUSTOMERS, CUSTOMERS.c.customer_id == m.customer_id).outerjoin(
                interest, i.customer_id == m.customer_id
            )
        )
        .subquery("per_customer")
    )
    p = per_customer.c
    return select(
        p.segment_id,
        p.level,
        func.count().label("customers"),
        func.sum(p.converted).label("converted"),
        func.sum(p.converted - p.repeat).label("first_policy"),
        func.sum(p.repeat).label("repeat"),
    ).group_by(p.segment_id, p.level)
