"""One import row per kind: text and JSON values checked and turned into column values.

Every parser gets the column name and a non-empty value (a CSV cell is a string, a
JSON Lines value may already be a number, boolean or list) and returns the column
value or raises :class:`RowError` with a reason a user can act on. All reasons of a
row are reported together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table

from automation import clock
from automation.events.imports import words
from automation.events.limits import bad_text, check_properties, escaped, json_kind
from automation.events.schema import OPTIONAL_TYPED
from automation.models import CONSENT_KINDS, Customer, Policy, Product

Parser = Callable[[str, Any], Any]

# Used with fullmatch ("$" also matches before a final newline); ASCII digits only.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_MOBILE = re.compile(r"\+?\d[\d-]*", re.ASCII)
_TRUE = frozenset({"true", "1", "y", "yes"})
_FALSE = frozenset({"false", "0", "n", "no"})
MAX_PREMIUM = Decimal(10) ** 12  # Numeric(14, 2)


class RowError(Exception):
    """Why one row was refused."""


@dataclass(slots=True)
class Row:
    """A checked row: the columns it sets and its extra columns (kept as attributes)."""

    line: int
    key: str
    given: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)
    consent_at: datetime | None = None
    lines: int = 1  # how many lines of the file this row stands for (duplicates merged)
    changes: list[dict[str, Any]] = field(default_factory=list)
    retier: bool = False  # its value tier is due a recompute (an override cleared)


@dataclass(frozen=True, slots=True)
class Kind:
    """How to read and store one kind of import file."""

    name: str
    table: Table
    key: str
    required: tuple[str, ...]
    fields: dict[str, Parser]
    defaults: dict[str, Any] = field(default_factory=dict)  # for new rows only


def _shown(value: Any) -> str:
    text = str(value)
    return escaped(text if len(text) <= 40 else text[:37] + "...")  # printable as a reason


def text(limit: int) -> Parser:
    """A string (a JSON number is taken as its text) of at most ``limit`` characters."""

    def parse(name: str, value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise RowError(f"{name} must be text, not {json_kind(value)}")
        value = value.strip()
        if len(value) > limit:
            raise RowError(f"{name} is longer than {limit} characters")
        if why := bad_text(value):  # a JSON Lines escape can carry it; PostgreSQL cannot
            raise RowError(f"{name} {why}")
        return value

    return parse


def boolean(name: str, value: Any) -> bool:
    """true/false, 1/0, y/n or yes/no, in any case."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else None
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise RowError(f"{name} '{_shown(value)}' is not a boolean (use true/false, 1/0 or y/n)")


def iso_date(name: str, value: Any) -> date:
    """A calendar date, YYYY-MM-DD."""
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RowError(f"{name} '{_shown(value)}' is not a date (YYYY-MM-DD)")


def iso_datetime(name: str, value: Any) -> datetime:
    """An ISO 8601 time with an offset; returned in UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RowError(f"{name} '{_shown(value)}' is not an ISO 8601 time")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RowError(
            f"{name} '{_shown(value)}' has no time zone; add an offset such as +09:00 or Z"
        )
    return clock.to_utc(parsed)


def email(name: str, value: Any) -> str:
    """Loosely an address: one @, and a dot inside the domain."""
    address = text(320)(name, value)
    local, _, domain = address.partition("@")
    ok = address.count("@") == 1 and local and "." in domain.strip(".")
    if not ok or any(ch.isspace() for ch in address):
        raise RowError(f"{name} '{_shown(address)}' is not an email address")
    return address


def mobile(name: str, value: Any) -> str:
    """Digits, with an optional leading + and dashes."""
    number = text(32)(name, value)
    if not _MOBILE.fullmatch(number):
        raise RowError(f"{name} '{_shown(number)}' is not a phone number (digits, + and - only)")
    return number


def timezone(name: str, value: Any) -> str:
    """An IANA zone name such as Asia/Seoul."""
    zone = text(64)(name, value)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        reason = f"{name} '{_shown(zone)}' is not an IANA time zone (e.g. Asia/Seoul)"
        raise RowError(reason) from None
    return zone


def tags(name: str, value: Any) -> list[str]:
    """``a;b;c`` or a JSON array of strings."""
    if isinstance(value, str):
        items: list[Any] = value.split(";")
    elif isinstance(value, list):
        items = value
    else:
        raise RowError(f"{name} must be ';'-separated text or an array, not {json_kind(value)}")
    if not all(isinstance(item, str) for item in items):
        raise RowError(f"{name} must hold text only")
    for item in items:
        if why := bad_text(item):
            raise RowError(f"{name} '{_shown(item)}' {why}")
    return [item.strip() for item in items if item.strip()]


def word(limit: int, vocabulary: dict[str, tuple[str, ...]]) -> Parser:
    """Text stored as its canonical word when the vocabulary knows it (``words.py``)."""

    def parse(name: str, value: Any) -> str:
        given = text(limit)(name, value)
        return words.canonical(vocabulary, given) or given

    return parse


def value_tier(name: str, value: Any) -> str:
    """vip or regular (an override), or auto (clears the override)."""
    given = text(16)(name, value)
    tier = words.canonical(words.TIERS, given)
    if tier is None:
        raise RowError(
            f"{name} '{_shown(given)}' is not a tier (use vip or regular; auto clears an override)"
        )
    return tier


def premium(name: str, value: Any) -> Decimal:
    """A non-negative amount with at most two decimals."""
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidOperation
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RowError(f"{name} '{_shown(value)}' is not a number") from None
    if not amount.is_finite():
        raise RowError(f"{name} '{_shown(value)}' is not a number")
    if amount < 0:
        raise RowError(f"{name} {_shown(value)} is negative")
    if amount >= MAX_PREMIUM or amount != amount.quantize(Decimal("0.01")):
        raise RowError(f"{name} {_shown(value)} does not fit 12 digits and 2 decimals")
    return amount


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_row(kind: Kind, line: int, data: dict[str, Any]) -> Row:
    """Check one record of ``kind``; raise :class:`RowError` with every reason it is refused."""
    given: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    reasons: list[str] = []
    for name, value in data.items():
        if _is_blank(value):
            continue
        parser = kind.fields.get(name)
        if parser is None:
            if name == "attributes" and isinstance(value, dict):
                attributes.update(value)
            else:
                attributes[name] = value
            continue
        try:
            given[name] = parser(name, value)
        except RowError as exc:
            reasons.append(str(exc))
    for name in kind.required:
        if _is_blank(data.get(name)):
            reasons.append(f"{name} is missing")
    if attributes:
        check_properties(attributes, reasons, "attributes")  # the row's JSON column
    if reasons:
        raise RowError("; ".join(reasons))
    consent_at = given.pop("consent_at", None)
    return Row(line, given[kind.key], given, attributes, consent_at)


def flatten_event(data: dict[str, Any]) -> dict[str, Any]:
    """A CSV row as an event: ``properties.*`` cells become the properties, blanks omitted.

    Cells are text; a property the event format types as a number (``premium``) is
    turned into one when it reads as a number, so that a CSV can carry it.
    """
    event: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for name, value in data.items():
        if _is_blank(value):
            continue
        if name.startswith("properties."):
            prop = name.removeprefix("properties.")
            properties[prop] = _number(value) if OPTIONAL_TYPED.get(prop) == (int, float) else value
        else:
            event[name] = value
    if properties:
        event["properties"] = properties
    return event


def _number(value: str) -> Any:
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return value


_CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
_PRODUCTS: Table = Product.__table__  # type: ignore[attr-defined]
_POLICIES: Table = Policy.__table__  # type: ignore[attr-defined]

_CUSTOMER_FIELDS: dict[str, Parser] = {
    "customer_id": text(64),
    "name": text(200),
    "email": email,
    "mobile": mobile,
    "birth_date": iso_date,
    "gender": word(16, words.GENDERS),
    "occupation": word(100, words.OCCUPATIONS),
    "marital_status": word(16, words.MARITAL_STATUSES),
    "value_tier": value_tier,
    "has_children": boolean,
    **{f"{kind}_consent": boolean for kind in CONSENT_KINDS},
    "consent_at": iso_datetime,
    "timezone": timezone,
    "locale": text(16),
    "joined_at": iso_datetime,
}

KINDS: dict[str, Kind] = {
    "customers": Kind("customers", _CUSTOMERS, "customer_id", ("customer_id",), _CUSTOMER_FIELDS),
    "products": Kind(
        "products",
        _PRODUCTS,
        "product_code",
        ("product_code", "name", "category"),
        {
            "product_code": text(64),
            "name": text(200),
            "category": text(64),
            "content_tags": tags,
            "is_new": boolean,
            "md_pick": boolean,
        },
        defaults={"content_tags": []},
    ),
    "policies": Kind(
        "policies",
        _POLICIES,
        "policy_id",
        ("policy_id", "customer_id"),
        {
            "policy_id": text(64),
            "customer_id": text(64),
            "product_code": text(64),
            "status": text(32),
            "start_date": iso_date,
            "maturity_date": iso_date,
            "premium": premium,
        },
    ),
}
EVENT_REQUIRED = ("event_id", "type")
