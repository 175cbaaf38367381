"""The event format: validation of one incoming event, with reasons a sender can act on.

Hand-written rather than a pydantic model because ingest validates thousands of
events a second and each error must name the field in the sender's words. What any
stored value must be is in ``limits.py``; properties that land in columns, in
``columns.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from automation.events.columns import CHECKS, check_columns
from automation.events.limits import (
    BAD_CHARS,
    bad_text,
    check_properties,
    instant,
    json_kind,
    shown,
)

FIELDS = ("event_id", "type", "occurred_at", "visitor_id", "customer_id", "properties")
# Used with fullmatch: "$" would also match before a final newline ("custom_evt\n").
TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
_FIELD_SET = frozenset(FIELDS)
MAX_UNKNOWN_FIELDS = 5  # named in the reasons; the rest are counted
MAX_FUTURE = timedelta(hours=24)
STITCH_TYPES = frozenset({"signup", "login"})

# Core types and the properties they need (name → accepted Python types).
_S, _N = (str,), (int, float)
CORE_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "page_view": {"url": _S},
    "login": {},
    "signup": {},
    "product_view": {"product": _S},
    "content_view": {"content": _S},
    "quote_request": {},
    "consultation_request": {},
    "policy_purchased": {"policy_id": _S},
    "policy_renewed": {"policy_id": _S},
    "policy_matured": {"policy_id": _S},
    "policy_cancelled": {"policy_id": _S},
    "email_opened": {},
    "email_clicked": {},
    "email_bounced": {},
    "unsubscribed": {},
    "sms_delivered": {},
    "sms_replied": {},
    "sms_clicked": {},
    "call_completed": {"outcome": _S},
    "complaint": {"category": _S},
    "inquiry": {"category": _S},
    "service_completed": {"outcome": _S, "category": _S},
    "timer_due": {"timer_id": (str, int)},
    "policy_maturity_approaching": {"policy_id": _S},
    "customer_dormant": {},
    "customer_anniversary": {"kind": _S},
}
# Optional properties of core types whose type we still check when present.
OPTIONAL_TYPED: dict[str, tuple[type, ...]] = {
    "premium": _N,
    "product": _S,
    "url": _S,
    "content": _S,
    "utm_source": _S,
    "start_date": _S,
    "maturity_date": _S,
}
# Per core type, worked out once: the properties it needs, and the optional ones whose
# type is checked here. A property a column check owns (``columns.CHECKS``) has its type
# checked there, once (no types here).
_REQUIRED: dict[str, tuple[tuple[str, tuple[type, ...]], ...]] = {
    t: tuple((n, () if n in CHECKS.get(t, {}) else k) for n, k in needs.items())
    for t, needs in CORE_TYPES.items()
}
_OPTIONAL: dict[str, tuple[tuple[str, tuple[type, ...]], ...]] = {
    t: tuple(
        (n, k) for n, k in OPTIONAL_TYPED.items() if n not in needs and n not in CHECKS.get(t, {})
    )
    for t, needs in CORE_TYPES.items()
}
# Text properties of core types with a length bound (the call task's columns hold them).
BOUNDED_TEXT: dict[str, dict[str, int]] = {
    "complaint": {"category": 64, "text": 2000},
    "inquiry": {"category": 64, "text": 2000},
}
_NORMALISED_CORE = {re.sub(r"[^a-z0-9]", "", t): t for t in CORE_TYPES}


@dataclass(slots=True)
class EventIn:
    """A validated event, times in UTC."""

    event_id: str
    type: str
    occurred_at: datetime
    visitor_id: str | None
    customer_id: str | None
    properties: dict[str, Any] = field(default_factory=dict)


def validate_event(raw: Any, now: datetime) -> EventIn | list[str]:
    """Check one event; return it normalised, or the list of reasons it was refused."""
    if not isinstance(raw, dict):
        return [f"an event must be a JSON object, not {json_kind(raw)}"]
    errors = [] if _FIELD_SET.issuperset(raw) else _unknown_fields(raw)
    event_id = _text(raw, "event_id", 200, errors, required=True)
    etype = _event_type(raw.get("type"), errors)
    visitor_id = _text(raw, "visitor_id", 128, errors)
    customer_id = _text(raw, "customer_id", 64, errors)
    occurred_at = _timestamp(raw.get("occurred_at"), now, errors)
    properties = raw.get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        errors.append(f"properties must be an object, not {json_kind(properties)}")
        properties = {}
    elif properties:
        check_properties(properties, errors)
    if (
        visitor_id is None
        and customer_id is None
        and "visitor_id" not in raw
        and "customer_id" not in raw
    ):
        errors.append("needs visitor_id or customer_id (at least one)")
    if etype in STITCH_TYPES and customer_id is None and "customer_id" not in raw:
        errors.append(f"a {etype} event needs customer_id")
    checks = CHECKS.get(etype or "")
    if etype in CORE_TYPES:
        _check_properties(etype, properties, errors)
    if checks:
        check_columns(checks, properties, errors)
    if errors:
        return errors
    assert event_id is not None and etype is not None and occurred_at is not None
    return EventIn(event_id, etype, occurred_at, visitor_id, customer_id, properties)


def _text(
    raw: dict[str, Any], name: str, limit: int, errors: list[str], required: bool = False
) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            errors.append(f"{name} is missing")
        return None
    if not isinstance(value, str):
        errors.append(f"{name} must be a string, not {json_kind(value)}")
        return None
    value = value.strip()
    if not value:
        errors.append(f"{name} is empty")
        return None
    if len(value) > limit:
        errors.append(f"{name} is longer than {limit} characters")
        return None
    if "\x00" in value if value.isascii() else BAD_CHARS.search(value):
        errors.append(f"{name} {bad_text(value)}")
        return None
    return value


def _unknown_fields(raw: dict[str, Any]) -> list[str]:
    unknown = [k for k in raw if k not in FIELDS]
    if not unknown:
        return unknown
    errors = [f"unknown field '{shown(k)}'" for k in unknown[:MAX_UNKNOWN_FIELDS]]
    if len(unknown) > MAX_UNKNOWN_FIELDS:
        errors.append(f"and {len(unknown) - MAX_UNKNOWN_FIELDS} more unknown fields")
    return errors


def _event_type(value: Any, errors: list[str]) -> str | None:
    if value is None:
        errors.append("type is missing")
        return None
    if not isinstance(value, str):
        errors.append(f"type must be a string, not {json_kind(value)}")
        return None
    if not TYPE_PATTERN.fullmatch(value):
        hint = _did_you_mean(value)
        errors.append(
            f"type '{shown(value, 64)}' is not a valid name (lower case letters, digits, _ . : -)"
            + hint
        )
        return None
    if value not in CORE_TYPES:
        close = _NORMALISED_CORE.get(re.sub(r"[^a-z0-9]", "", value))
        if close:
            errors.append(f"type '{value}' collides with the core type '{close}'; use '{close}'")
            return None
    return value


def _did_you_mean(value: str) -> str:
    close = _NORMALISED_CORE.get(re.sub(r"[^a-z0-9]", "", value.lower()))
    return f"; did you mean '{close}'?" if close else ""


def _timestamp(value: Any, now: datetime, errors: list[str]) -> datetime | None:
    if value is None:
        return now
    parsed = instant("occurred_at", value)
    if isinstance(parsed, str):
        errors.append(parsed)
        return None
    if parsed - now > MAX_FUTURE:
        errors.append(f"occurred_at '{shown(value)}' is more than 24 hours in the future")
        return None
    return parsed


def _check_properties(etype: str, props: dict[str, Any], errors: list[str]) -> None:
    for name, types in _REQUIRED[etype]:
        value = props.get(name)
        if value is None:
            errors.append(f"a {etype} event needs properties.{name}")
        elif types and (not isinstance(value, types) or isinstance(value, bool)):
            errors.append(f"properties.{name} must be {_names(types)}, not {json_kind(value)}")
    for name, types in _OPTIONAL[etype]:
        value = props.get(name)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            errors.append(f"properties.{name} must be {_names(types)}, not {json_kind(value)}")
    for name, limit in BOUNDED_TEXT.get(etype, {}).items():
        value = props.get(name)
        if name in CORE_TYPES[etype] and not isinstance(value, str):
            continue  # missing or not a string: said above
        _bounded(value, f"properties.{name}", limit, errors)


def _bounded(value: Any, name: str, limit: int, errors: list[str]) -> None:
    """A string, not blank, at most ``limit`` characters (None: not given)."""
    if value is None:
        return
    if not isinstance(value, str):
        errors.append(f"{name} must be a string, not {json_kind(value)}")
    elif not value.strip():
        errors.append(f"{name} is empty")
    elif len(value) > limit:
        errors.append(f"{name} is longer than {limit} characters")


def _names(types: tuple[type, ...]) -> str:
    if types == _S:
        return "a string"
    if types == _N:
        return "a number"
    return "a string or a number"
