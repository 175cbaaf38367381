"""What personalization earned, per offer rule: people shown, clicks, conversions after
the first view, conversions credited to a click, and the uplift over the holdout (people
who got the default content) with its 95% interval (Newcombe) and both group sizes.

Definitions:

- **shown**: a person (the customer, else the visitor's cookie) with an
  ``offer_viewed`` event in the period whose token names the rule (tokens are ours:
  forged ones are not counted). An item no rule made counts under what made it
  (``preference``, ``popular``, ``md_pick``, ``default`` …).
- **converted**: a shown person with a ``signup`` or ``policy_purchased`` after their
  first view of the rule, within ``ATTRIBUTION_WINDOW_DAYS``; **credited**: conversions
  credited to a click on the rule (``offer_credits``, last touch).
- **holdout**: people whose views carried the holdout mark; their conversion rate is the
  baseline every rule's rate is compared with. Under 30 people in either group the
  uplift is "too small to tell".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from automation.config import get_settings
from automation.db import session_scope
from automation.models import Event, OfferCredit
from automation.personalize import tokens
from automation.reports.intervals import newcombe
from automation.reports.period import Period

CONVERSIONS = ("signup", "policy_purchased")
MIN_GROUP = 30
HOLDOUT = "(holdout)"


@dataclass
class _Rule:
    views: int = 0
    clicks: int = 0
    shown: dict[str, datetime] = field(default_factory=dict)  # person → first view
    clickers: set[str] = field(default_factory=set)


def offer_report(period: Period) -> dict[str, Any]:
    """The offers' figures for ``period`` (JSON-ready)."""
    window = timedelta(days=get_settings().attribution_window_days)
    rules: dict[str, _Rule] = defaultdict(_Rule)
    stitched: dict[str, str] = {}
    with session_scope() as session:
        touches = session.exec(
            select(
                Event.type, Event.customer_id, Event.visitor_id, Event.occurred_at, Event.properties
            )
            .where(
                col(Event.type).in_(("offer_viewed", "offer_clicked")),
                col(Event.occurred_at) >= period.start_utc,
                col(Event.occurred_at) < period.end_utc,
            )
            .order_by(col(Event.occurred_at))
        )
        for etype, customer_id, visitor_id, at, props in touches:
            try:
                token = tokens.read(str((props or {}).get("token", "")))
            except tokens.BadOfferToken:
                continue
            person = customer_id or f"v:{visitor_id}"
            rule = rules[HOLDOUT if token.holdout else token.rule]
            if etype == "offer_viewed":
                rule.views += 1
                rule.shown.setdefault(person, at)
            else:
                rule.clicks += 1
                rule.clickers.add(person)
                rule.shown.setdefault(person, at)
            if customer_id and visitor_id:
                stitched[f"v:{visitor_id}"] = customer_id
        people = {stitched.get(p, p) for r in rules.values() for p in r.shown}
        customers = [p for p in people if not p.startswith("v:")]
        converted_at = _conversions(session, customers, period, window)
        credits = _credits(session, period)
    holdout = rules.pop(HOLDOUT, _Rule())
    base = _rate(holdout, stitched, converted_at, window)
    rows = [
        _row(name, rule, stitched, converted_at, window, credits.get(name, 0), base)
        for name, rule in sorted(rules.items(), key=lambda kv: -len(kv[1].shown))
    ]
    return {
        "period": period.to_dict(),
        "holdout": {"people": base[1], "converted": base[0], "rate": _ratio(*base)},
        "rules": rows,
    }


def _conversions(
    session: Session, customers: list[str], period: Period, window: timedelta
) -> dict[str, list[datetime]]:
    found: dict[str, list[datetime]] = defaultdict(list)
    if not customers:
        return found
    for start in range(0, len(customers), 1000):
        part = customers[start : start + 1000]
        rows = session.exec(
            select(Event.customer_id, Event.occurred_at).where(
                col(Event.type).in_(CONVERSIONS),
                col(Event.customer_id).in_(part),
                col(Event.occurred_at) >= period.start_utc,
                col(Event.occurred_at) < period.end_utc + window,
            )
        )
        for customer_id, at in rows:
            found[str(customer_id)].append(at)
    return found


def _credits(session: Session, period: Period) -> dict[str, int]:
    counted: dict[str, int] = defaultdict(int)
    rows = session.exec(
        select(OfferCredit.rule, OfferCredit.holdout).where(
            col(OfferCredit.clicked_at) >= period.start_utc,
            col(OfferCredit.clicked_at) < period.end_utc,
        )
    )
    for rule, holdout in rows:
        counted[HOLDOUT if holdout else rule] += 1
    return counted


def _rate(
    rule: _Rule,
    stitched: dict[str, str],
    converted_at: dict[str, list[datetime]],
    window: timedelta,
) -> tuple[int, int]:
    """(converted, shown) of a rule's people."""
    shown = rule.shown
    converted = 0
    for person, first in shown.items():
        times = converted_at.get(stitched.get(person, person), [])
        if any(first <= t <= first + window for t in times):
            converted += 1
    return converted, len(shown)


def _row(
    name: str,
    rule: _Rule,
    stitched: dict[str, str],
    converted_at: dict[str, list[datetime]],
    window: timedelta,
    credited: int,
    base: tuple[int, int],
) -> dict[str, Any]:
    converted, shown = _rate(rule, stitched, converted_at, window)
    clickers = len(rule.clickers)
    row: dict[str, Any] = {
        "rule": name,
        "shown": shown,
        "views": rule.views,
        "clicks": rule.clicks,
        "clickers": clickers,
        "click_rate": _ratio(clickers, shown),
        "converted": converted,
        "conversion_rate": _ratio(converted, shown),
        "credited": credited,
        "holdout_people": base[1],
        "uplift": None,
        "interval": None,
        "verdict": "no holdout" if not base[1] else "too small to tell",
    }
    if shown and base[1]:
        row["uplift"] = converted / shown - base[0] / base[1]
        if shown >= MIN_GROUP and base[1] >= MIN_GROUP:
            low, high = newcombe(converted, shown, base[0], base[1])
            row["interval"] = [low, high]
            row["verdict"] = "better" if low > 0 else "worse" if high < 0 else "no difference shown"
    return row


def _ratio(k: int, n: int) -> float | None:
    return k / n if n else None
