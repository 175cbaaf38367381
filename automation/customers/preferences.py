"""The preferences step: what a customer looks at, how they answer, how likely they buy.

A pipeline step after the profile and before segments and journeys, so both see the
values an event has just changed. Everything is kept in
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
    The prospect score (``prospect.py``), updated by the same step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select

from automation.customers.chunk import Chunk
from automation.customers.decay import decay, half_life_days, iso, parse_time, round4
from automation.customers.profile import POLICY_TYPES
from automation.customers.prospect import PROSPECT_TYPES, PURCHASES, held_categories, prospect
from automation.customers.signals import CHANNELS, RESPONSES, SENT, responded, usable
from automation.models import Event, Product
from automation.models.definitions import PerStamp

TOP_N = 10  # keys kept per preference kind: bounds the JSON
VIEW_TYPES = frozenset({"page_view", "content_view", "product_view"})
KINDS = ("content", "category", "product")
MIN_SENDS = 3
RESPONDED_KEPT = 20  # message ids remembered per channel, so an open and a click count once
# Every event type this step may change a customer's attributes after (segments re-check
# customer conditions after these).
PREFERENCE_TYPES = VIEW_TYPES | PROSPECT_TYPES | set(SENT) | set(RESPONSES) | PURCHASES


class PreferenceStep:
    """Preferences, channel responsiveness and the prospect score, per event. Built once
    per chunk: the catalogue's categories (kept per definitions stamp), and the
    categories each customer viewing a category holds a policy in."""

    def __init__(self, chunk: Chunk) -> None:
        self.session = chunk.session
        events = chunk.events
        self.categories = _catalogue(chunk)
        # Only a page or content view naming a category (or a product) scores against
        # the categories held: a demo worker asked for every content view's customer.
        viewers = {
            e.customer_id
            for e in events
            if e.customer_id
            and e.type in ("page_view", "content_view")
            and any(usable(e.properties.get(kind)) for kind in ("category", "product"))
        }
        self.held = held_categories(self.session, sorted(viewers))  # type: ignore[arg-type]
        self.chunk = chunk

    def apply(self, event: Event) -> None:
        """Update the customer's preferences, channel responsiveness and prospect score."""
        if not event.customer_id:
            return
        if event.type in POLICY_TYPES:
            # The profile step has just changed a policy: the held categories are stale.
            self.held.pop(event.customer_id, None)
        if event.type not in PREFERENCE_TYPES:
            return
        customer = self.chunk.customer(event.customer_id)
        if customer is None:
            return
        attrs = customer.attributes if isinstance(customer.attributes, dict) else {}
        half_life = half_life_days()
        keys = self._keys(event) if event.type in VIEW_TYPES else {}
        changes = _view(attrs, event, keys, half_life)
        changes |= _channels(attrs, event)
        changes |= prospect(attrs, event, keys.get("category"), half_life, self._held_by)
        new = {**attrs, **changes}
        if "preferred_channel" in changes and changes["preferred_channel"] is None:
            del new["preferred_channel"]
        if new != attrs:
            customer.attributes = new  # a new dict: the JSON column sees the change

    def _keys(self, event: Event) -> dict[str, str]:
        """The view's content, category and product, where it names them."""
        props = event.properties
        found = {kind: v for kind in KINDS if (v := usable(props.get(kind)))}
        if "category" not in found and "product" in found:
            category = usable(self._category(found["product"]))
            if category:
                found["category"] = category
        return found

    def _category(self, code: str) -> str | None:
        # The whole catalogue, as of the chunk's claim: a code not in it is no product.
        return self.categories.get(code)

    def _held_by(self, customer_id: str) -> set[str]:
        if customer_id not in self.held:  # not prepared, or a purchase made it stale
            self.held.update(held_categories(self.session, [customer_id]))
        return self.held[customer_id]


def _catalogue(chunk: Chunk) -> dict[str, str | None]:
    """Every product's category, read once per definitions stamp (a product's code or
    category moves it, migration 0014): a query per chunk of product views was one of
    a demo worker's few round trips per event."""
    if (kept := _categories.get(chunk.definitions)) is not None:
        return kept
    rows = chunk.session.exec(select(Product.product_code, Product.category)).all()
    return _categories.keep(chunk.definitions, dict(rows))


_categories: PerStamp[dict[str, str | None]] = PerStamp()


# --- preferences ----------------------------------------------------------------------


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
            good[key] = {"score": float(entry["score"]), "at": iso(parse_time(entry["at"]))}
        except (TypeError, KeyError, ValueError):
            continue
    return good


def bump(
    entries: dict[str, dict[str, Any]], key: str, at: datetime, half_life: float
) -> dict[str, dict[str, Any]]:
    """Entries with one more view of ``key`` at ``at``, decayed; the best ``TOP_N`` kept."""
    old = entries.get(key)
    if old is None:
        entry = {"score": 1.0, "at": iso(at)}
    else:
        last, score = parse_time(old["at"]), float(old["score"])
        if at >= last:
            entry = {"score": round4(score * decay(at - last, half_life) + 1), "at": iso(at)}
        else:  # arrived late: add its weight as of the stored time, which stays
            entry = {"score": round4(score + decay(last - at, half_life)), "at": old["at"]}
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


# --- channel responsiveness -----------------------------------------------------------


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
        row["rate"] = round4(min(row["responded"] / row["sent"], 1.0)) if row["sent"] else 0.0
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
