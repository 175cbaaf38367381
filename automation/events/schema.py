"""The event format: validation of one incoming event, with reasons a sender can act on.

Hand-written rather than a pydantic model because ingest validates thousands of
events a second and each error must name the field in the sender's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

FIELDS = ("event_id", "type", "occurred_at", "visitor_id", "customer_id", "properties")
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
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
    "call_completed": {"outcome": _S},
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
        return [f"an event must be a JSON object, not {_json_kind(raw)}"]
    errors = [f"unknown field '{k}'" for k in raw if k not in FIELDS]
    event_id = _text(raw, "event_id", 200, errors, required=True)
    etype = _event_type(raw.get("type"), errors)
    visitor_id = _text(raw, "visitor_id", 128, errors)
    customer_id = _text(raw, "customer_id", 64, errors)
    occurred_at = _timestamp(raw.get("occurred_at"), now, errors)
    properties = raw.get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        errors.append(f"properties must be an object, not {_json_kind(properties)}")
        properties = {}
    if (
        visitor_id is None
        and customer_id is None
        and "visitor_id" not in raw
        and "customer_id" not in raw
    ):
        errors.append("needs visitor_id or customer_id (at least one)")
    if etype in STITCH_TYPES and customer_id is None and "customer_id" not in raw:
        errors.append(f"a {etype} event needs customer_id")
    if etype in CORE_TYPES:
        _check_properties(etype, properties, errors)
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
        errors.append(f"{name} must be a string, not {_json_kind(value)}")
        return None
    value = value.strip()
    if not value:
        errors.append(f"{name} is empty")
        return None
    if len(value) > limit:
        errors.append(f"{name} is longer than {limit} characters")
        return None
    return value


def _event_type(value: Any, errors: list[str]) -> str | None:
    if value is None:
        errors.append("type is missing")
        return None
    if not isinstance(value, str):
        errors.append(f"type must be a string, not {_json_kind(value)}")
        return None
    if not TYPE_PATTERN.match(value):
        hint = _did_you_mean(value)
        errors.append(
            f"type '{value[:64]}' is not a valid name (lower case letters, digits, _ . : -)" + hint
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
    if not isinstance(value, str):
        errors.append(f"occurred_at must be an ISO 8601 string, not {_json_kind(value)}")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors.append(f"occurred_at '{value[:40]}' is not an ISO 8601 time")
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        errors.append(
            f"occurred_at '{value[:40]}' has no time zone; add an offset such as +09:00 or Z"
        )
        return None
    if parsed - now > MAX_FUTURE:
        errors.append(f"occurred_at '{value[:40]}' is more than 24 hours in the future")
        return None
    return parsed.astimezone(UTC)


def _check_properties(etype: str, props: dict[str, Any], errors: list[str]) -> None:
    for name, types in CORE_TYPES[etype].items():
        value = props.get(name)
        if value is None:
            errors.append(f"a {etype} event needs properties.{name}")
        elif not isinstance(value, types) or isinstance(value, bool):
            errors.append(f"properties.{name} must be {_names(types)}, not {_json_kind(value)}")
    for name, types in OPTIONAL_TYPED.items():
        value = props.get(name)
        if (
            value is not None
            and name not in CORE_TYPES[etype]
            and (not isinstance(value, types) or isinstance(value, bool))
        ):
            errors.append(f"properties.{name} must be {_names(types)}, not {_json_kind(value)}")


def _names(types: tuple[type, ...]) -> str:
    if types == _S:
        return "a string"
    if types == _N:
        return "a number"
    return "a string or a number"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
