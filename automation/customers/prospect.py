"""The prospect score (가망고객): how likely a customer is to buy, with its reasons.

``prospect_score``, ``prospect_reasons``, ``prospect_signals`` in ``customer.attributes``:
points from the behaviours in ``RULES`` within ``PROSPECT_WINDOW_DAYS``, each decayed
like the preferences (``decay.py``), capped per rule; the score (0–100) is the sum of
the reasons' points, so a person can check it. A purchase or renewal ends the intent
that led to it: earlier signals stop counting. ``prospect_signals`` is the bounded
record the score is recomputed from (``[rule, key, time]``, newest first).

Scores fall with time alone, but a stored score changes only when an event arrives
(the preferences step calls :func:`prospect`); :func:`rescore` recomputes the scores of
every scored customer (run it before a segments refresh).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlmodel import Session, col, select

from automation import clock
from automation.conditions import compile_condition
from automation.config import get_settings
from automation.customers.decay import (
    decay,
    half_life_days,
    half_up,
    iso,
    local_date,
    parse_time,
)
from automation.customers.signals import responded, usable
from automation.db import session_scope
from automation.db.sql import among
from automation.models import Customer, Event, Policy, Product

PROSPECT_THRESHOLD = 50  # the prospect segment: prospect_score >= this
PROSPECT_WINDOW_DAYS = 30
MAX_REASONS = 10
PURCHASES = frozenset({"policy_purchased", "policy_renewed"})
_PURCHASED = "purchased"  # the marker signal: earlier signals no longer count


@dataclass(frozen=True)
class Rule:
    """Points per occurrence, and the most one rule can give (newest occurrences first)."""

    points: int
    cap: int
    what: str
    kept: int = 0  # occurrences stored; 0: as many as the cap can count

    @property
    def keep(self) -> int:
        return self.kept or self.cap // self.points


# The prospect score's table, in the order reasons are listed when they tie on time.
RULES: dict[str, Rule] = {
    "quote_request": Rule(30, 30, "asked for a quote"),
    "consultation_request": Rule(30, 30, "asked for a consultation"),
    "call_interested": Rule(20, 20, "a call ended interested or with an appointment"),
    "return_visit": Rule(10, 20, "viewed a product again more than a visit (30 min) later"),
    "email_clicked": Rule(10, 20, "clicked an e-mail (a scanner's click does not count)"),
    "sms_replied": Rule(10, 10, "replied to an SMS"),
    "sms_clicked": Rule(10, 20, "followed an SMS link (a scanner's fetch does not count)"),
    # Twelve views are kept (five count) so that return visits can be found among them.
    "product_view": Rule(5, 25, "viewed a product", kept=12),
    "new_category": Rule(5, 15, "viewed content in a category the customer holds no policy of"),
}
PROSPECT_TYPES = frozenset(
    {
        "quote_request",
        "consultation_request",
        "email_clicked",
        "sms_clicked",
        "sms_replied",
        "call_completed",
    }
)


def prospect(
    attrs: dict[str, Any],
    event: Event,
    category: str | None,
    half_life: float,
    held: Callable[[str], set[str]],
) -> dict[str, Any]:
    """The prospect attributes after ``event`` (empty if it changes nothing); ``category``
    is the view's, ``held`` gives the categories a customer holds a policy in."""
    signals = stored_signals(attrs.get("prospect_signals"))
    signal = _signal(event, category, held)
    if signal is None and not signals:
        return {}
    now = max(clock.now(), event.occurred_at)
    if signal is not None:
        signals = record(signals, *signal, event.occurred_at)
    return scored(signals, now, half_life)


def _signal(
    event: Event, category: str | None, held: Callable[[str], set[str]]
) -> tuple[str, str | None] | None:
    """The rule an event scores under, and its key (``category``: the view's)."""
    props, kind = event.properties, event.type
    if kind in ("quote_request", "consultation_request"):
        return kind, None
    if kind in PURCHASES:
        return _PURCHASED, None
    if kind == "product_view":
        product = usable(props.get("product"))
        return ("product_view", product) if product else None
    if kind in ("page_view", "content_view") and category:
        return ("new_category", category) if category not in held(event.customer_id or "") else None
    if kind == "email_clicked" and responded(event):
        return "email_clicked", None
    if kind == "sms_clicked" and responded(event):
        return "sms_clicked", None
    if kind == "sms_replied":
        return "sms_replied", None
    if kind == "call_completed" and props.get("outcome") in ("interested", "appointment"):
        return "call_interested", str(props["outcome"])
    return None


def record(signals: list[list[Any]], rule: str, key: str | None, at: datetime) -> list[list[Any]]:
    """Signals with one more, newest first, bounded per rule. A purchase drops the
    signals before it; a signal from before the latest purchase (arrived late) is ignored."""
    bought = max((parse_time(s[2]) for s in signals if s[0] == _PURCHASED), default=None)
    if rule == _PURCHASED:
        if bought is not None and at <= bought:
            return signals
        signals = [s for s in signals if parse_time(s[2]) > at]
    elif bought is not None and at < bought:
        return signals
    added = sorted([*signals, [rule, key, iso(at)]], key=lambda s: str(s[2]), reverse=True)
    counts: dict[str, int] = {}
    kept = []
    for s in added:
        counts[s[0]] = counts.get(s[0], 0) + 1
        if s[0] == _PURCHASED or counts[s[0]] <= RULES[s[0]].keep:
            kept.append(s)
    return kept


def score(
    signals: list[list[Any]], now: datetime, half_life: float, gap: timedelta | None = None
) -> tuple[int, list[str]]:
    """The prospect score as of ``now`` and its reasons, newest first."""
    # Plain datetimes: pendulum's subtraction dominated a rescore of every customer.
    now = datetime.fromtimestamp(now.timestamp(), UTC)
    gap = gap if gap is not None else timedelta(minutes=get_settings().session_gap_minutes)
    since = now - timedelta(days=PROSPECT_WINDOW_DAYS)
    live = [(s[0], s[1], parse_time(s[2])) for s in signals if s[0] in RULES]
    live = [(r, k, at) for r, k, at in live if since <= at]
    live += _return_visits(live, gap)
    by_rule: dict[str, list[tuple[datetime, str | None]]] = {}
    for rule, key, at in live:  # one pass, not one per rule: a rescore runs per click
        by_rule.setdefault(rule, []).append((at, key))
    groups: dict[tuple[str, str | None], list[datetime]] = {}
    for rule, spec in RULES.items():
        occurrences = by_rule.get(rule)
        if not occurrences:
            continue
        occurrences.sort(key=lambda o: o[0], reverse=True)
        for at, key in occurrences[: spec.cap // spec.points]:
            groups.setdefault((rule, key), []).append(at)
    reasons = []
    order = list(RULES)
    for (rule, key), times in groups.items():
        points = half_up(sum(RULES[rule].points * decay(now - at, half_life) for at in times))
        reasons.append((max(times), -order.index(rule), _reason(rule, key, times, points), points))
    reasons.sort(reverse=True)
    total = min(sum(r[3] for r in reasons), 100)
    return total, [r[2] for r in reasons[:MAX_REASONS]]


def _return_visits(
    live: Iterable[tuple[str, str | None, datetime]], gap: timedelta
) -> list[tuple[str, str | None, datetime]]:
    """A view of a product more than ``gap`` after the previous view of it."""
    views: dict[str | None, list[datetime]] = {}
    for rule, key, at in live:
        if rule == "product_view":
            views.setdefault(key, []).append(at)
    found = []
    for key, times in views.items():
        times.sort()
        found += [("return_visit", key, b) for a, b in pairwise(times) if b - a > gap]
    return found


def _reason(rule: str, key: str | None, times: list[datetime], points: int) -> str:
    when = f"×{len(times)}" if len(times) > 1 else local_date(times[0])
    return " ".join(p for p in (rule, key, when, f"(+{points})") if p)


def scored(signals: list[list[Any]], now: datetime, half_life: float) -> dict[str, Any]:
    now = datetime.fromtimestamp(now.timestamp(), UTC)  # plain: pendulum's arithmetic is slow
    since = now - timedelta(days=PROSPECT_WINDOW_DAYS)
    # Signals out of the window can never count again: drop them from the row.
    signals = [s for s in signals if parse_time(s[2]) >= since]
    total, reasons = score(signals, now, half_life)
    return {"prospect_signals": signals, "prospect_score": total, "prospect_reasons": reasons}


def stored_signals(value: Any) -> list[list[Any]]:
    if not isinstance(value, list):
        return []
    good = []
    for s in value:
        if isinstance(s, list) and len(s) == 3 and (s[0] in RULES or s[0] == _PURCHASED):
            try:
                good.append([s[0], s[1], iso(parse_time(s[2]))])
            except (TypeError, ValueError):
                continue
    return good


def held_categories(session: Session, customer_ids: list[str]) -> dict[str, set[str]]:
    """The catalogue categories each customer holds an active policy in."""
    held: dict[str, set[str]] = {cid: set() for cid in customer_ids}
    if customer_ids:
        dialect = session.get_bind().dialect.name
        query = (
            select(Policy.customer_id, Product.category)
            .join(Product, col(Policy.product_code) == col(Product.product_code))
            .where(among(dialect, col(Policy.customer_id), customer_ids), Policy.status == "active")
        )
        for cid, category in session.exec(query):
            held[cid].add(category)
    return held


def rescore(now: datetime | None = None, page: int = 500) -> int:
    """Recompute every scored customer's prospect score as of ``now`` (a score only falls
    with time, and nothing else updates it without an event); returns how many changed."""
    now = now or clock.now()
    half_life = half_life_days()
    where = compile_condition(
        {"customer.attributes.prospect_score": {"gt": 0}}, allow_event=False
    ).to_sql(now)
    changed, after = 0, ""
    while True:
        with session_scope() as session:
            query = (
                select(Customer)
                .where(where, col(Customer.customer_id) > after)
                .order_by(col(Customer.customer_id))
                .limit(page)
                .with_for_update()  # the pipeline may be updating the same rows
            )
            rows = list(session.exec(query))
            for customer in rows:
                attrs = customer.attributes
                new = {
                    **attrs,
                    **scored(stored_signals(attrs.get("prospect_signals")), now, half_life),
                }
                if new != attrs:
                    customer.attributes = new
                    session.add(customer)
                    changed += 1
        if len(rows) < page:
            return changed
        after = rows[-1].customer_id
