"""The field table: which fields a condition can name, their kind, how to read each in
Python, and (unless it exists only while an event is handled) its target in SQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy.types import TypeDecorator

from automation.conditions.errors import ConditionError, Path, suggest
from automation.conditions.facts import Facts
from automation.conditions.operators import Target
from automation.conditions.tables import CUSTOMERS, EVENTS, POLICIES
from automation.conditions.targets import AgeTarget, ColumnTarget, JsonTarget
from automation.conditions.times import local_date
from automation.models import Policy

_CONSENTS = ("email", "sms", "call", "ad", "night")
CUSTOMER_COLUMNS = (
    *("customer_id", "name", "email", "mobile", "birth_date", "gender", "occupation"),
    *("marital_status", "has_children", "locale", "timezone", "lifecycle_stage"),
    *("value_tier", "activity_status", "joined_at", "first_policy_at", "last_seen_at"),
    *(f"{kind}_consent" for kind in _CONSENTS),
    *(f"{kind}_consent_at" for kind in _CONSENTS),
)
POLICY_COLUMNS = ("policy_id", "product_code", "status", "start_date", "maturity_date", "premium")


@dataclass(frozen=True, slots=True)
class Field:
    """A field: its path, kind, value in Python and (unless Python-only) target in SQL."""

    path: str
    kind: str
    read: Callable[[Facts, tzinfo], Any]
    target: Callable[[datetime, tzinfo], Target] | None = None


_KINDS = {str: "text", bool: "bool", datetime: "instant", date: "date", Decimal: "number"}


def _kind_of(column: Any) -> str:
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    return _KINDS[sql_type.python_type]


def _key_of(mapping: Any, key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, Mapping) else None


def _no_read(facts: Facts, tz: tzinfo) -> Any:
    raise AssertionError("history filters run in SQL")


# How many policies or events passed; only ever counted in SQL.
COUNT = Field("count", "count", _no_read)


# --- customer.* ----------------------------------------------------------------------


def _customer_value(facts: Facts, name: str) -> Any:
    return None if facts.customer is None else getattr(facts.customer, name, None)


def _customer_column(name: str) -> Field:
    column = CUSTOMERS.c[name]
    kind = _kind_of(column)
    return Field(
        f"customer.{name}",
        kind,
        lambda facts, tz: _customer_value(facts, name),
        lambda now, tz: ColumnTarget(column, kind, tz),
    )


def _read_age(facts: Facts, tz: tzinfo) -> int | None:
    birth = _customer_value(facts, "birth_date")
    if birth is None:
        return None
    if isinstance(birth, datetime):
        birth = local_date(birth, tz)
    today = local_date(facts.now, tz)
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


AGE = Field(
    "customer.age",
    "age",
    _read_age,
    lambda now, tz: AgeTarget(CUSTOMERS.c.birth_date, local_date(now, tz)),
)


def _attribute(key: str) -> Field:
    def read(facts: Facts, tz: tzinfo) -> Any:
        return _key_of(_customer_value(facts, "attributes"), key)

    return Field(
        f"customer.attributes.{key}",
        "json",
        read,
        lambda now, tz: JsonTarget(CUSTOMERS.c.attributes, key, tz),
    )


# --- event.* and policy.*: Python only ---------------------------------------------


def _event_value(facts: Facts, key: str) -> Any:
    if facts.event is None:
        return None
    if key == "type":
        return facts.event.type
    return _key_of(facts.event.properties, key)


def _event_field(key: str) -> Field:
    kind = "text" if key == "type" else "json"
    return Field(f"event.{key}", kind, lambda facts, tz: _event_value(facts, key))


def _policy_value(facts: Facts, name: str) -> Any:
    policy_id = facts.policy_id
    if policy_id is None and facts.event is not None:
        policy_id = _key_of(facts.event.properties, "policy_id")
    if policy_id is None or facts.session is None:
        return None
    policy = facts.session.get(Policy, str(policy_id))
    return None if policy is None else getattr(policy, name)


def _policy_field(name: str) -> Field:
    return Field(
        f"policy.{name}",
        _kind_of(POLICIES.c[name]),
        lambda facts, tz: _policy_value(facts, name),
    )


# --- policies.* and events.*: the filters of history counts, SQL only ---------------


def _history_column(name: str) -> Field:
    column = POLICIES.c[name]
    kind = _kind_of(column)
    return Field(f"policies.{name}", kind, _no_read, lambda now, tz: ColumnTarget(column, kind, tz))


def _history_property(key: str) -> Field:
    return Field(
        f"events.{key}",
        "json",
        _no_read,
        lambda now, tz: JsonTarget(EVENTS.c.properties, key, tz),
    )


# --- looking a field up by name ------------------------------------------------------


def _key(key: str) -> str | None:
    if not key:
        return "needs a key after the dot"
    if '"' in key or "\\" in key:
        return "can't contain quotes or backslashes"
    return None


def customer_field(name: str, at: Path) -> Field:
    """The field ``customer.<name>``.

    Raises:
        ConditionError: at ``at``, for an unknown name or a bad attribute key.
    """
    if name == "age":
        return AGE
    if name in CUSTOMER_COLUMNS:
        return _customer_column(name)
    if name == "attributes" or name.startswith("attributes."):
        key = name.removeprefix("attributes").removeprefix(".")
        if problem := _key(key):
            raise ConditionError(at, f"customer.attributes.<key> {problem}")
        return _attribute(key)
    known = ["age", "attributes.<key>", *sorted(CUSTOMER_COLUMNS)]
    hint = suggest(name, known)
    raise ConditionError(
        at, f"unknown field 'customer.{name}'; {hint}(customer has: {', '.join(known)})"
    )


def event_field(scope: str, name: str, at: Path) -> Field:
    """The field ``event.<name>`` or ``policy.<name>`` (``scope``).

    Raises:
        ConditionError: at ``at``, for a bad property key or an unknown policy column.
    """
    if scope == "event":
        if problem := _key(name):
            raise ConditionError(at, f"event.<property> {problem}")
        return _event_field(name)
    if name not in POLICY_COLUMNS:
        hint = suggest(name, POLICY_COLUMNS)
        raise ConditionError(
            at,
            f"unknown field 'policy.{name}'; {hint}(policy has: {', '.join(POLICY_COLUMNS)})",
        )
    return _policy_field(name)


def policy_column(name: str, at: Path) -> Field:
    """A column of ``policies`` named in ``policies: {where: …}``.

    Raises:
        ConditionError: at ``at``, for an unknown column.
    """
    if name not in POLICY_COLUMNS:
        hint = suggest(name, POLICY_COLUMNS)
        raise ConditionError(
            at,
            f"unknown policy column {name!r}; {hint}(policies have: {', '.join(POLICY_COLUMNS)})",
        )
    return _history_column(name)


def event_property(name: str, at: Path) -> Field:
    """An event property named in ``events: {where: …}`` (or ``did``, ``did_not``).

    Raises:
        ConditionError: at ``at``, for a bad property key.
    """
    if problem := _key(name):
        raise ConditionError(at, f"an event property {problem}")
    return _history_property(name)
