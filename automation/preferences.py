"""Preferences and scoring: what a customer looks at, how they answer, how likely they buy.

A pipeline step after the profile (rank 20) and before segments (30) and journeys (50),
so both see the values an event has just changed. Everything is kept in
``customer.attributes`` and updated incrementally, one event at a time, without
reading the customer's history:

``preferences``
    ``{"content"|"category"|"product": {key: {"score": s, "at": t}}}``. A view of
    ``key`` at ``at`` decays the stored score to ``at`` and adds 1:
    ``s * 0.5 ** ((at - t) / half_life) + 1``. A view older than ``t`` (it arrived
    late) adds its own decayed weight ``0.5 ** ((t - at) / half_life)`` and leaves
    ``t`` where it is, so elapsed time is never negative. Keys are compared by their
    scores decayed to one common time, which gives the same order at any later time:
    the order changes only when an event arrives. The best ``TOP_N`` per kind are kept.
    ``top_content``, ``top_category``, ``top_product`` name the current best key.
    Content is the view's ``content``; category the view's ``category``, else its
    product's catalogue category; product the view's ``product`` (as the web-log
    report counts them).
``channels``, ``preferred_channel``
    Per channel: messages sent, messages responded to (each message once, by
    ``message_id``), the rate. The preferred channel has the best rate among channels
    with at least ``MIN_SENDS`` sends and some response.
``prospect_score``, ``prospect_reasons``, ``prospect_signals``
    가망고객: points from the behaviours in ``RULES`` within ``PROSPECT_WINDOW_DAYS``,
    each decayed like the preferences, capped per rule; the score (0–100) is the sum
    of the reasons' points, so a person can check it. A purchase or renewal ends the
    intent that led to it: earlier signals stop counting. ``prospect_signals`` is the
    bounded record the score is recomputed from (``[rule, key, time]``, newest first).

Scores fall with time alone, but a stored score changes only when an event arrives;
:func:`rescore` recomputes the scores of every scored customer (run it before a
segments refresh).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from automation import clock
from automation.conditions import compile_condition
from automation.config import get_settings
from automation.db import session_scope
from automation.models import Customer, Event, Policy, Product
from automation.processing import add_step
from automation.profile import POLICY_TYPES, locked_customer
from automation.sql import among

TOP_N = 10  # keys kept per preference kind: bounds the JSON
VIEW_TYPES = frozenset({"page_view", "content_view", "product_view"})
KINDS = ("content", "category", "product")
MAX_KEY = 200  # longer keys are ignored: they are not tags, and would bloat the row

CHANNELS = ("email", "sms", "call")  # also the tie-break order for the preferred channel
SENT = {"email_sent": "email", "sms_delivered": "sms", "call_completed": "call"}
RESPONSES = {
    "email_opened": "email",
    "email_clicked": "email",
    "sms_replied": "sms",
    "call_completed": "call",
}
CALL_RESPONDED = frozenset({"interested", "appointment", "sold"})
MIN_SENDS = 3
RESPONDED_KEPT = 20  # message ids remembered per channel, so an open and a click count once

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
    # Twelve views are kept (five count) so that return visits can be found among them.
    "product_view": Rule(5, 25, "viewed a product", kept=12),
    "new_category": Rule(5, 15, "viewed content in a category the customer holds no policy of"),
}
PROSPECT_TYPES = frozenset(
    {"quote_request", "consultation_request", "email_clicked", "sms_replied", "call_completed"}
)
# Every event type this step may change a customer's attributes after (segments re-check
# customer conditions after these).
PREFERENCE_TYPES = VIEW_TYPES | PROSPECT_TYPES | set(SENT) | set(RESPONSES) | PURCHASES

_CATEGORIES = "preferences.categories"  # session.info: product code → catalogue category
_HELD = "preferences.held"  # session.info: customer id → categories of active policies


# --- the step ---------------------------------------------------------------------------


def prepare_preferences(session: Session, events: list[Event]) -> None:
    """Once per chunk: the catalogue categories of the products the events name, and
    the categories each viewing customer holds a policy in (two queries)."""
    dialect = session.get_bind().dialect.name
    codes = sorted({p for e in events if isinstance(p := e.properties.get("product"), str)})
    categories: dict[str, str | None] = dict.fromkeys(codes)
    if codes:
        query = select(Product.product_code, Product.category).where(
            among(dialect, col(Product.product_code), codes)
        )
        categories.update(session.exec(query).all())
    session.info[_CATEGORIES] = categories
    viewers = sorted(
        {e.customer_id for e in events if e.customer_id and e.type in ("page_view", "content_view")}
    )
    session.info[_HELD] = _held(session, viewers)


def apply_preferences(session: Session, event: Event) -> None:
    """Update the customer's preferences, channel responsiveness and prospect score."""
    if not event.customer_id:
        return
    if event.type in POLICY_TYPES:
        # The profile step has just changed a policy: the held categories are stale.
        session.info.get(_HELD, {}).pop(event.customer_id, None)
    if event.type not in PREFERENCE_TYPES:
        return
    customer = locked_customer(session, event.customer_id)
    if customer is None:
        return
    attrs = customer.attributes if isinstance(customer.attributes, dict) else {}
    half_life = half_life_days()
    keys = _keys(session, event) if event.type in VIEW_TYPES else {}
    changes = _view(attrs, event, keys, half_life)
    changes |= _channels(attrs, event)
    changes |= _prospect(session, attrs, event, keys.get("category"), half_life)
    new = {**attrs, **changes}
    if "preferred_channel" in changes and changes["preferred_channel"] is None:
        del new["preferred_channel"]
    if new != attrs:
        customer.attributes = new  # a new dict: the JSON column sees the change


add_step(apply_preferences, prepare=prepare_preferences, rank=20)


def half_life_days() -> float:
    """The preferences' and the prospect score's half-life, in days."""
    return get_settings().preference_half_life_days


# --- preferences ----------------------------------------------------------------------


def _keys(session: Session, event: Event) -> dict[str, str]:
    """The view's content, category and product, where it names them."""
    props = event.properties
    found = {kind: v for kind in KINDS if (v := _usable(props.get(kind)))}
    if "category" not in found and "product" in found:
        category = _usable(_category(session, found["product"]))
        if category:
            found["category"] = category
    return found


def _usable(value: Any) -> str | None:
    """``value`` if it can be a key (non-empty text, not too long)."""
    return value if isinstance(value, str) and 0 < len(value) <= MAX_KEY else None


def _category(session: Session, code: str) -> str | None:
    cache = session.info.setdefault(_CATEGORIES, {})
    if code not in cache:  # not prepared (a product named only by a later step)
        product = session.get(Product, code)
        cache[code] = product.category if product is not None else None
    return cache[code]  # type: ignore[no-any-return]


def _view(
    attrs: dict[str, Any], event: Event, keys: dict[str, str], half_life: float
) -> dict[str, Any]:
    if not keys:
        return {}
    stored = attrs.get("preferences")
    prefs = {kind: _entries(stored.get(kind)) if isinstance(stored, dict) else {} for kind in KINDS}
    changes: dict[str, Any] = {}
    for kind, key in keys.items():
        prefs[kind] = bump(prefs[kind], key, event.occurred_at, half_life)
        best = top(prefs[kind], half_life)
        if best is not None:
            changes[f"top_{kind}"] = best
    changes["preferences"] = prefs
    return changes


def _entries(value: Any) -> dict[str, dict[str, Any]]:
    """The stored entries of one kind, leaving out anything malformed."""
    if not isinstance(value, dict):
        return {}
    good = {}
    for key, entry in value.items():
        try:
            good[key] = {"score": float(entry["score"]), "at": _iso(parse_time(entry["at"]))}
        except (TypeError, KeyError, ValueError):
            continue
    return good


def bump(
    entries: dict[str, dict[str, Any]], key: str, at: datetime, half_life: float
) -> dict[str, dict[str, Any]]:
    """Entries with one more view of ``key`` at ``at``, decayed; the best ``TOP_N`` kept."""
    old = entries.get(key)
    if old is None:
        entry = {"score": 1.0, "at": _iso(at)}
    else:
        last, score = parse_time(old["at"]), float(old["score"])
        if at >= last:
            entry = {"score": _round(score * decay(at - last, half_life) + 1), "at": _iso(at)}
        else:  # arrived late: add its weight as of the stored time, which stays
            entry = {"score": _round(score + decay(last - at, half_life)), "at": old["at"]}
    ranked = _ranked({**entries, key: entry}, half_life)
    return {k: e for k, e in ranked[:TOP_N]}


def top(entries: dict[str, dict[str, Any]], half_life: float) -> str | None:
    """The key with the highest score now (ties: the more recent, then by name)."""
    ranked = _ranked(entries, half_life)
    return ranked[0][0] if ranked else None


def ranked(attributes: dict[str, Any], kind: str) -> list[str]:
    """A customer's ``kind`` (content, category, product) keys, most preferred first."""
    entries = _entries((attributes.get("preferences") or {}).get(kind))
    return [key for key, _ in _ranked(entries, half_life_days())]


def _ranked(
    entries: dict[str, dict[str, Any]], half_life: float
) -> list[tuple[str, dict[str, Any]]]:
    if not entries:
        return []
    times = {k: parse_time(e["at"]) for k, e in entries.items()}
    ref = max(times.values())  # any common time gives the same order
    value = {k: float(e["score"]) * decay(ref - times[k], half_life) for k, e in entries.items()}
    order = sorted(entries, key=lambda k: (-value[k], -times[k].timestamp(), k))
    return [(k, entries[k]) for k in order]


def decay(elapsed: timedelta, half_life: float) -> float:
    """The weight left after ``elapsed`` (never more than 1)."""
    days = max(elapsed.total_seconds(), 0.0) / 86400
    return float(0.5 ** (days / half_life))


# --- channel responsiveness -----------------------------------------------------------


def responded(event: Event) -> str | None:
    """The channel a human response is on, or None (a scanner's pre-fetch is not one)."""
    props = event.properties
    channel = RESPONSES.get(event.type)
    if channel is None or props.get("suspected_bot") is True:
        return None
    if event.type == "call_completed" and props.get("outcome") not in CALL_RESPONDED:
        return None
    return channel


def _channels(attrs: dict[str, Any], event: Event) -> dict[str, Any]:
    sent, answered = SENT.get(event.type), responded(event)
    if sent is None and answered is None:
        return {}
    stored = attrs.get("channels")
    channels = {c: _channel(stored.get(c) if isinstance(stored, dict) else None) for c in CHANNELS}
    if sent:
        channels[sent]["sent"] += 1
    if answered:
        row = channels[answered]
        message = event.properties.get("message_id")
        if message is None or message not in row["responded_to"]:
            row["responded"] += 1
        if message is not None and message not in row["responded_to"]:
            row["responded_to"] = [*row["responded_to"], message][-RESPONDED_KEPT:]
    for row in channels.values():
        # A response may be processed before its send: never above 1.
        row["rate"] = _round(min(row["responded"] / row["sent"], 1.0)) if row["sent"] else 0.0
    used = {c: row for c, row in channels.items() if row["sent"] or row["responded"]}
    return {"channels": used, "preferred_channel": preferred(used)}


def _channel(value: Any) -> dict[str, Any]:
    row = value if isinstance(value, dict) else {}
    seen = row.get("responded_to")
    return {
        "sent": int(row.get("sent", 0)),
        "responded": int(row.get("responded", 0)),
        "rate": float(row.get("rate", 0.0)),
        "responded_to": list(seen) if isinstance(seen, list) else [],
    }


def preferred(channels: dict[str, dict[str, Any]]) -> str | None:
    """The best rate among channels with ``MIN_SENDS`` sends and a response; ties: more
    sends, then e-mail, SMS, call."""
    fit = [c for c in CHANNELS if channels.get(c, {}).get("sent", 0) >= MIN_SENDS]
    fit = [c for c in fit if channels[c]["rate"] > 0]
    if not fit:
        return None
    return max(fit, key=lambda c: (channels[c]["rate"], channels[c]["sent"], -CHANNELS.index(c)))


# --- the prospect score ---------------------------------------------------------------


def _prospect(
    session: Session,
    attrs: dict[str, Any],
    event: Event,
    category: str | None,
    half_life: float,
) -> dict[str, Any]:
    signals = _signals(attrs.get("prospect_signals"))
    signal = _signal(session, event, category)
    if signal is None and not signals:
        return {}
    now = max(clock.now(), event.occurred_at)
    if signal is not None:
        signals = record(signals, *signal, event.occurred_at)
    return _scored(signals, now, half_life)


def _signal(session: Session, event: Event, category: str | None) -> tuple[str, str | None] | None:
    """The rule an event scores under, and its key (``category``: the view's)."""
    props, kind = event.properties, event.type
    if kind in ("quote_request", "consultation_request"):
        return kind, None
    if kind in PURCHASES:
        return _PURCHASED, None
    if kind == "product_view":
        product = _usable(props.get("product"))
        return ("product_view", product) if product else None
    if kind in ("page_view", "content_view") and category:
        held = _held_by(session, event.customer_id)  # type: ignore[arg-type]
        return ("new_category", category) if category not in held else None
    if kind == "email_clicked" and responded(event):
        return "email_clicked", None
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
    added = sorted([*signals, [rule, key, _iso(at)]], key=lambda s: str(s[2]), reverse=True)
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
        points = _half_up(sum(RULES[rule].points * decay(now - at, half_life) for at in times))
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
    when = f"×{len(times)}" if len(times) > 1 else _local_date(times[0])
    return " ".join(p for p in (rule, key, when, f"(+{points})") if p)


def _scored(signals: list[list[Any]], now: datetime, half_life: float) -> dict[str, Any]:
    now = datetime.fromtimestamp(now.timestamp(), UTC)  # plain: pendulum's arithmetic is slow
    since = now - timedelta(days=PROSPECT_WINDOW_DAYS)
    # Signals out of the window can never count again: drop them from the row.
    signals = [s for s in signals if parse_time(s[2]) >= since]
    total, reasons = score(signals, now, half_life)
    return {"prospect_signals": signals, "prospect_score": total, "prospect_reasons": reasons}


def _signals(value: Any) -> list[list[Any]]:
    if not isinstance(value, list):
        return []
    good = []
    for s in value:
        if isinstance(s, list) and len(s) == 3 and (s[0] in RULES or s[0] == _PURCHASED):
            try:
                good.append([s[0], s[1], _iso(parse_time(s[2]))])
            except (TypeError, ValueError):
                continue
    return good


def _held(session: Session, customer_ids: list[str]) -> dict[str, set[str]]:
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


def _held_by(session: Session, customer_id: str) -> set[str]:
    cache = session.info.setdefault(_HELD, {})
    if customer_id not in cache:  # not prepared, or a purchase in this chunk made it stale
        cache.update(_held(session, [customer_id]))
    return cache[customer_id]  # type: ignore[no-any-return]


# --- time passing ---------------------------------------------------------------------


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
                new = {**attrs, **_scored(_signals(attrs.get("prospect_signals")), now, half_life)}
                if new != attrs:
                    customer.attributes = new
                    session.add(customer)
                    changed += 1
        if len(rows) < page:
            return changed
        after = rows[-1].customer_id


# --- small helpers --------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    """A stored time (ISO 8601, UTC)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored time {text!r} has no zone")
    return value.astimezone(UTC)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _local_date(at: datetime) -> str:
    return at.astimezone(ZoneInfo(get_settings().timezone)).date().isoformat()


def _round(value: float) -> float:
    return round(value, 4)


def _half_up(value: float) -> int:
    # Python's round() goes to even (2.5 → 2); a person adding points expects 3.
    return int(value + 0.5)
