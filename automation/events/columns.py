"""Properties the pipeline writes to columns or reads as row ids, checked at ingest.

An event whose property cannot land where the pipeline puts it fails in the worker
every time and stays dead after ``MAX_EVENT_ATTEMPTS``; refused at ingest, its sender
learns why. Where each property goes (kept in step with the pipeline):

- ``customers/profile.py``: a purchase or renewal writes ``policy_id``, ``product``,
  ``premium``, ``start_date`` and ``maturity_date`` to ``policies``; the other policy
  events look the policy up by ``policy_id``; ``customer_dormant``/``customer_churned``
  read ``last_seen_at`` as a time.
- ``journeys/engine.py``: ``timer_due`` reads ``timer_id`` as a timer's row id.
- ``customers/attribution.py``: a later purchase reads the ``message_id`` of the
  customer's engagements as a message's row id (a bad one would fail the purchase).

Limits come from the columns themselves, so a migration that widens one widens this.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger

from automation.events.limits import instant, json_kind, shown
from automation.models import Message, Policy, Product, Timer

Check = Callable[[str, Any], str | None]

_POLICIES = Policy.__table__  # type: ignore[attr-defined]
_MESSAGES = Message.__table__  # type: ignore[attr-defined]
_TIMERS = Timer.__table__  # type: ignore[attr-defined]
_PREMIUM = _POLICIES.c.premium.type
PREMIUM_LIMIT = Decimal(10) ** (_PREMIUM.precision - _PREMIUM.scale)  # exclusive
_PREMIUM_INT = int(PREMIUM_LIMIT)
_CENT = Decimal(1).scaleb(-_PREMIUM.scale)
_FLOAT_ID_LIMIT = 2**53  # a float id must also be exact


def _text(column: Any) -> Check:
    limit = column.type.length
    where = f"{column.table.name}.{column.name}"

    def check(name: str, value: Any) -> str | None:
        if not isinstance(value, str):
            return f"properties.{name} must be a string, not {json_kind(value)}"
        if len(value) > limit:
            return f"properties.{name} is longer than {limit} characters (the {where} column)"
        return None

    return check


def _premium(name: str, value: Any) -> str | None:
    if type(value) is int:  # the common case: plain comparisons, no Decimal
        fits = -_PREMIUM_INT < value < _PREMIUM_INT
    elif type(value) is float and abs(value) < _PREMIUM_INT - 1:
        fits = True
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return f"properties.{name} must be a number, not {json_kind(value)}"
    elif isinstance(value, float) and value - value != 0:
        return f"properties.{name} must be a finite number"
    else:
        # Read as the profile step reads it; the column rounds to cents, so round first.
        amount = Decimal(value) if isinstance(value, int) else Decimal(str(value))
        fits = (
            abs(amount) < PREMIUM_LIMIT
            and abs(amount.quantize(_CENT, ROUND_HALF_UP)) < PREMIUM_LIMIT
        )
    if fits:
        return None
    return (
        f"properties.{name} {shown(value)} does not fit {_PREMIUM.precision - _PREMIUM.scale}"
        f" digits and {_PREMIUM.scale} decimals (policies.{name} is"
        f" numeric({_PREMIUM.precision}, {_PREMIUM.scale}))"
    )


def _date(name: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"properties.{name} must be a string, not {json_kind(value)}"
    try:
        date.fromisoformat(value[:10])  # as the profile step reads it
    except ValueError:
        return f"properties.{name} '{shown(value)}' is not a date (YYYY-MM-DD, policies.{name})"
    return None


def _row_id(column: Any, what: str) -> Check:
    # PostgreSQL casts the looked-up id to the column's type: past it, the look-up fails.
    limit = 2**63 if isinstance(column.type, BigInteger) else 2**31
    digits = len(str(limit)) - 1

    def check(name: str, value: Any) -> str | None:
        if isinstance(value, bool):
            ok = False
        elif isinstance(value, int):
            ok = 0 <= value < limit
        elif isinstance(value, float):
            ok = value.is_integer() and 0 <= value < min(limit, _FLOAT_ID_LIMIT)
        elif isinstance(value, str):
            ok = 0 < len(value) <= digits and value.isascii() and value.isdigit()
            ok = ok and int(value) < limit
        else:
            ok = False
        if ok:
            return None
        return (
            f"properties.{name} must be {what} (a whole number from 0 to {limit - 1}),"
            f" not '{shown(value)}'"
        )

    return check


def _time(name: str, value: Any) -> str | None:
    parsed = instant(f"properties.{name}", value)
    return parsed if isinstance(parsed, str) else None


_POLICY: dict[str, Check] = {"policy_id": _text(_POLICIES.c.policy_id)}
_BOUGHT: dict[str, Check] = {
    **_POLICY,
    "product": _text(Product.__table__.c.product_code),  # type: ignore[attr-defined]
    "premium": _premium,
    "start_date": _date,
    "maturity_date": _date,
}
_ENGAGED: dict[str, Check] = {"message_id": _row_id(_MESSAGES.c.id, "a message id")}
_SILENT: dict[str, Check] = {"last_seen_at": _time}

CHECKS: dict[str, dict[str, Check]] = {
    "policy_purchased": _BOUGHT,
    "policy_renewed": _BOUGHT,
    "policy_matured": _POLICY,
    "policy_cancelled": _POLICY,
    "policy_maturity_approaching": _POLICY,
    "timer_due": {"timer_id": _row_id(_TIMERS.c.id, "a timer id")},
    "email_opened": _ENGAGED,
    "email_clicked": _ENGAGED,
    "sms_replied": _ENGAGED,
    "call_completed": _ENGAGED,
    "customer_dormant": _SILENT,
    "customer_churned": _SILENT,
}


def check_columns(checks: dict[str, Check], properties: dict[str, Any], errors: list[str]) -> None:
    """Add to ``errors`` why a property of ``checks`` (an entry of :data:`CHECKS`) cannot
    land in its column; an absent (or null) property is for the event format to require."""
    for name, check in checks.items():
        value = properties.get(name)
        if value is not None and (why := check(name, value)):
            errors.append(why)
