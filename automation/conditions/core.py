"""The condition language (docs/conditions.md): one declarative filter, in Python or SQL.

:func:`compile_condition` validates a mapping up front and returns a :class:`Condition`.
``matches(facts)`` tests one customer and the event being handled; ``to_sql(now)``
selects customers in the database. Both are built from the same small nodes and the
same operator table, so they agree (tests/test_conditions.py checks it at random).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from automation.conditions.sql import (
    AT_LEAST_ONE,
    CUSTOMERS,
    EVENTS,
    NONE,
    OPERATORS,
    POLICIES,
    AgeTarget,
    Always,
    And,
    ColumnTarget,
    EventCount,
    Field,
    FieldTest,
    JsonTarget,
    Node,
    Not,
    Or,
    PolicyCount,
    Relative,
    SegmentMembership,
    Test,
    business_tz,
    local_date,
    number,
)
from automation.errors import ValidationError
from automation.models import Policy

Path = tuple[str | int, ...]

_CONSENTS = ("email", "sms", "call", "ad", "night")
CUSTOMER_COLUMNS = (
    *("customer_id", "name", "email", "mobile", "birth_date", "gender", "occupation"),
    *("marital_status", "has_children", "locale", "timezone", "lifecycle_stage"),
    *("value_tier", "activity_status", "joined_at", "first_policy_at", "last_seen_at"),
    *(f"{kind}_consent" for kind in _CONSENTS),
    *(f"{kind}_consent_at" for kind in _CONSENTS),
)
POLICY_COLUMNS = ("policy_id", "product_code", "status", "start_date", "maturity_date", "premium")
MAX_DURATION = timedelta(days=365_000)


class ConditionError(ValidationError):
    """A condition was refused; ``path`` says where inside the mapping, ``str()`` why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


# --- durations -------------------------------------------------------------------------

_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = timedelta(weeks=1)


def parse_duration(text: str) -> timedelta:
    """A positive duration: a whole number and a unit, ``30m``, ``12h``, ``3d``, ``2w``.

    Raises:
        ValueError: with the reason (no unit, zero, negative, unknown unit, too long).
    """
    match = (
        re.fullmatch(r"(-?)(\d+)\s*([A-Za-z]*)", text.strip()) if isinstance(text, str) else None
    )
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: use a whole number and a unit (30m, 12h, 3d, 2w)"
        )
    sign, amount, unit = match[1], int(match[2]), match[3]
    if not unit:
        raise ValueError(f"duration {text!r} has no unit: add m, h, d or w (e.g. {amount}d)")
    if unit not in _UNITS:
        raise ValueError(f"unknown unit {unit!r} in {text!r}: use m, h, d or w (a year is 365d)")
    if sign:
        raise ValueError(f"duration {text!r} is negative: give a length such as {amount}{unit}")
    if amount == 0:
        raise ValueError(f"duration {text!r} is zero: it must be at least 1{unit}")
    if amount * _UNITS[unit] > MAX_DURATION:
        raise ValueError(f"duration {text!r} is too long (at most {MAX_DURATION.days}d)")
    return amount * _UNITS[unit]


def _relative(text: str) -> Relative:
    delta = parse_duration(text[1:])
    return Relative(-delta if text.startswith("-") else delta)


# --- facts and the compiled condition ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """What a condition is evaluated against.

    Parameters:
        customer: a Customer row, or None.
        now: the evaluation time (aware).
        event: the Event being handled (``type``, ``properties``), or None.
        session: a database session for history and ``policy.*``; None: no history.
        policy_id: the policy for ``policy.*`` (else the event's ``policy_id``).
    """

    customer: Any
    now: datetime
    event: Any = None
    session: Any = None
    policy_id: str | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError(f"Facts.now must be aware, got {self.now!r}")


class Condition:
    """A compiled condition.

    Attributes:
        fields: every field path it names (``customer.age``, ``event.product``,
            ``policies``, ``policies.status``, ``events``, ``events.content`` …), and
            ``events:<type>`` for each event type it counts.
        uses_event: it names ``event.*`` or ``policy.*`` (so it has no SQL form).
        uses_history: it counts policies or events (Python needs ``Facts.session``).
    """

    __slots__ = ("_event_at", "_root", "fields", "uses_event", "uses_history")

    def __init__(self, root: Node, fields: frozenset[str], event_at: Path | None, history: bool):
        self._root, self.fields, self._event_at = root, fields, event_at
        self.uses_event, self.uses_history = event_at is not None, history

    def matches(self, facts: Facts) -> bool:
        """True when the customer (and event) in ``facts`` pass."""
        return self._root.matches(facts)

    def to_sql(self, now: datetime) -> ColumnElement[bool]:
        """A WHERE clause over ``customers`` as of ``now`` (aware).

        Raises:
            ConditionError: the condition names ``event.*`` or ``policy.*``.
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"to_sql needs an aware now, got {now!r}")
        if self._event_at is not None:
            raise ConditionError(self._event_at, _python_only(str(self._event_at[-1])))
        return self._root.to_sql(now)

    def __repr__(self) -> str:
        return f"Condition({self._root!r})"


def _python_only(path: str) -> str:
    return f"{path} exists only while an event is handled; it cannot select customers in SQL"


# --- fields ------------------------------------------------------------------------


_KINDS = {str: "text", bool: "bool", datetime: "instant", date: "date", Decimal: "number"}


def _kind_of(column: Any) -> str:
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    return _KINDS[sql_type.python_type]


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


def _event_value(facts: Facts, key: str) -> Any:
    if facts.event is None:
        return None
    if key == "type":
        return facts.event.type
    return _key_of(facts.event.properties, key)


def _key_of(mapping: Any, key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, Mapping) else None


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


def _no_read(facts: Facts, tz: tzinfo) -> Any:
    raise AssertionError("history filters run in SQL")


# --- compiling a mapping -----------------------------------------------------------

_ORDERED = frozenset(OPERATORS) - {"contains", "starts_with"}
ALLOWED: dict[str, frozenset[str]] = {
    "text": frozenset(OPERATORS),
    "json": frozenset(OPERATORS),
    "bool": frozenset({"eq", "ne", "in", "not_in", "exists"}),
    "number": _ORDERED,
    "age": _ORDERED,
    "date": _ORDERED,
    "instant": _ORDERED,
    "count": _ORDERED - {"exists"},
}
_COMBINATORS = ("any", "all", "not")
_HISTORY = ("policies", "events", "did", "did_not", "in_segment", "not_in_segment")
_TOP_KEYS = ", ".join((*_COMBINATORS, *_HISTORY))


def compile_condition(spec: object, *, allow_event: bool = True) -> Condition:
    """Validate a condition mapping and compile it.

    Parameters:
        spec: the mapping (YAML/JSON data); ``None`` or ``{}`` always matches.
        allow_event: False for segments: ``event.*`` and ``policy.*`` are refused.

    Returns:
        The :class:`Condition`.

    Raises:
        ConditionError: at the first problem, with its path inside ``spec``.
    """
    parser = _Parser(allow_event)
    root = Always() if spec is None else parser.condition(spec, ())
    return Condition(root, frozenset(parser.fields), parser.event_at, parser.history)


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value) if isinstance(value, str) else f"{value}"


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _key(key: str) -> str | None:
    if not key:
        return "needs a key after the dot"
    if '"' in key or "\\" in key:
        return "can't contain quotes or backslashes"
    return None


class _Parser:
    def __init__(self, allow_event: bool) -> None:
        self.allow_event = allow_event
        self.fields: set[str] = set()
        self.event_at: Path | None = None
        self.history = False

    def condition(self, spec: object, at: Path) -> Node:
        if not isinstance(spec, Mapping):
            raise ConditionError(
                at, f"a condition is a mapping of fields to values, not {_describe(spec)}"
            )
        nodes = [self.entry(key, value, (*at, key)) for key, value in spec.items()]
        if not nodes:
            return Always()
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def entry(self, key: object, value: object, at: Path) -> Node:
        if not isinstance(key, str):
            raise ConditionError(
                at, f"a condition's keys are field paths or {_TOP_KEYS}, not {_describe(key)}"
            )
        if key in ("any", "all"):
            return self.combination(key, value, at)
        if key == "not":
            if not isinstance(value, Mapping) or not value:
                raise ConditionError(
                    at, f"not takes a condition (a mapping), not {_describe(value)}"
                )
            return Not(self.condition(value, at))
        if key == "policies":
            return self.policies(value, at)
        if key in ("events", "did", "did_not"):
            return self.events(key, value, at)
        if key in ("in_segment", "not_in_segment"):
            return self.segments(key, value, at)
        if "." not in key:
            hint = _suggest(key, [*_COMBINATORS, *_HISTORY])
            raise ConditionError(
                at,
                f"unknown key {key!r}; {hint}(a field customer.…/event.…/policy.…, or {_TOP_KEYS})",
            )
        return self.field_test(self.field(key, at), value, at)

    def combination(self, key: str, value: object, at: Path) -> Node:
        if not isinstance(value, list | tuple) or not value:
            raise ConditionError(
                at, f"{key} takes a non-empty list of conditions, not {_describe(value)}"
            )
        parts = tuple(self.condition(item, (*at, i)) for i, item in enumerate(value))
        return Or(parts) if key == "any" else And(parts)

    def field(self, path: str, at: Path) -> Field:
        scope, _, name = path.partition(".")
        if scope == "customer":
            field = self.customer_field(name, at)
        elif scope in ("event", "policy"):
            if not self.allow_event:
                raise ConditionError(
                    at,
                    f"{path} is not available here: segments select customers without an event",
                )
            field = self.event_field(scope, name, at)
            self.event_at = self.event_at or at
        else:
            raise ConditionError(
                at, f"unknown field {path!r}: fields start with customer., event. or policy."
            )
        self.fields.add(field.path)
        return field

    def customer_field(self, name: str, at: Path) -> Field:
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
        hint = _suggest(name, known)
        raise ConditionError(
            at, f"unknown field 'customer.{name}'; {hint}(customer has: {', '.join(known)})"
        )

    def event_field(self, scope: str, name: str, at: Path) -> Field:
        if scope == "event":
            if problem := _key(name):
                raise ConditionError(at, f"event.<property> {problem}")
            return _event_field(name)
        if name not in POLICY_COLUMNS:
            hint = _suggest(name, POLICY_COLUMNS)
            raise ConditionError(
                at,
                f"unknown field 'policy.{name}'; {hint}(policy has: {', '.join(POLICY_COLUMNS)})",
            )
        return _policy_field(name)

    def field_test(self, field: Field, value: object, at: Path) -> FieldTest:
        return FieldTest(field, self.tests(field, value, at), at)

    def tests(self, field: Field, value: object, at: Path) -> tuple[Test, ...]:
        if not isinstance(value, Mapping):
            return (self.test(field, "eq", value, at),)
        if not value:
            raise ConditionError(
                at, f"{field.path}: give a value or an operator ({', '.join(OPERATORS)})"
            )
        return tuple(self.test(field, op, operand, (*at, op)) for op, operand in value.items())

    def test(self, field: Field, op: object, operand: object, at: Path) -> Test:
        if op not in OPERATORS:
            hint = _suggest(str(op), list(OPERATORS))
            raise ConditionError(
                at,
                f"unknown operator {op!r} for {field.path}; {hint}(known: {', '.join(OPERATORS)})",
            )
        assert isinstance(op, str)
        if op not in ALLOWED[field.kind]:
            usable = ", ".join(o for o in OPERATORS if o in ALLOWED[field.kind])
            kind = _KIND_NAMES[field.kind]
            raise ConditionError(at, f"{op} does not apply to {field.path} ({kind}); use {usable}")
        return Test(op, _Operand(field, op, at).parse(operand))

    def options(
        self, value: object, at: Path, key: str, allowed: tuple[str, ...]
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise ConditionError(
                at, f"{key} takes a mapping ({', '.join(allowed)}), not {_describe(value)}"
            )
        for name in value:
            if name not in allowed:
                hint = _suggest(str(name), list(allowed))
                raise ConditionError(
                    (*at, name),
                    f"unknown key {name!r} in {key}; {hint}(expected {', '.join(allowed)})",
                )
        self.history = True
        self.fields.add(key.replace("did_not", "events").replace("did", "events"))
        return value

    def count(self, value: object, at: Path) -> tuple[Test, ...]:
        return self.tests(Field("count", "count", _no_read), value, at)

    def where(
        self, value: object, at: Path, make: Callable[[str, Path], Field]
    ) -> tuple[FieldTest, ...]:
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            raise ConditionError(
                at, f"where takes a mapping of names to values, not {_describe(value)}"
            )
        tests = []
        for name, spec in value.items():
            field = make(str(name), (*at, name))
            self.fields.add(field.path)
            tests.append(self.field_test(field, spec, (*at, name)))
        return tuple(tests)

    def policies(self, value: object, at: Path) -> Node:
        spec = self.options(value, at, "policies", ("count", "where"))
        where = self.where(spec.get("where"), (*at, "where"), _policy_column)
        count = self.count(spec.get("count", {"gte": 1}), (*at, "count"))
        return PolicyCount(where, count)

    def segments(self, key: str, value: object, at: Path) -> Node:
        names = value if isinstance(value, list | tuple) else [value]
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ConditionError(at, f"{key} takes a segment id or a list of them")
        self.history = True
        self.fields.add("segments")
        self.fields.update(f"segments:{n}" for n in names)
        # Entering or leaving those segments is what can change the answer.
        self.fields.update(("events:segment_entered", "events:segment_exited"))
        count = AT_LEAST_ONE if key == "in_segment" else NONE
        return SegmentMembership(tuple(str(n) for n in names), count)

    def events(self, key: str, value: object, at: Path) -> Node:
        allowed = (
            ("type", "within", "count", "where") if key == "events" else ("type", "within", "where")
        )
        spec = self.options(value, at, key, allowed)
        types = _event_types(spec.get("type"), (*at, "type"), key)
        self.fields.update(f"events:{t}" for t in types)  # which events can change it
        within = None
        if "within" in spec:
            try:
                within = parse_duration(spec["within"])
            except ValueError as exc:
                raise ConditionError((*at, "within"), f"within: {exc}") from None
        where = self.where(spec.get("where"), (*at, "where"), _event_property)
        if key == "events":
            count = self.count(spec.get("count", {"gte": 1}), (*at, "count"))
        else:
            count = AT_LEAST_ONE if key == "did" else NONE
        return EventCount(types, within, where, count)


def _policy_column(name: str, at: Path) -> Field:
    if name not in POLICY_COLUMNS:
        hint = _suggest(name, POLICY_COLUMNS)
        raise ConditionError(
            at,
            f"unknown policy column {name!r}; {hint}(policies have: {', '.join(POLICY_COLUMNS)})",
        )
    return _history_column(name)


def _event_property(name: str, at: Path) -> Field:
    if problem := _key(name):
        raise ConditionError(at, f"an event property {problem}")
    return _history_property(name)


def _event_types(value: object, at: Path, key: str) -> tuple[str, ...]:
    types = value if isinstance(value, list | tuple) else [value]
    if value is None or not types or not all(isinstance(t, str) and t for t in types):
        raise ConditionError(
            at, f"{key} needs a type: an event type or a list of them, not {_describe(value)}"
        )
    return tuple(types)  # type: ignore[arg-type]


_KIND_NAMES = {
    "text": "text",
    "json": "a JSON value",
    "bool": "true or false",
    "number": "a number",
    "age": "whole years",
    "date": "a date",
    "instant": "a date and time",
    "count": "a count",
}


class _Operand:
    """Checks an operand against its field's kind and its operator's shape."""

    def __init__(self, field: Field, op: str, at: Path) -> None:
        self.field, self.op, self.at = field, op, at

    def fail(self, reason: str, at: Path | None = None) -> ConditionError:
        return ConditionError(self.at if at is None else at, f"{self.field.path}: {reason}")

    def expected(self, what: str, value: object, at: Path) -> ConditionError:
        return self.fail(f"{self.op} expects {what}, got {_describe(value)}", at)

    def parse(self, value: object) -> Any:
        shape, op = OPERATORS[self.op].shape, self.op
        if shape == "flag":
            if not isinstance(value, bool):
                raise self.expected("true or false", value, self.at)
            return value
        if shape == "scalar":
            return self.scalar(value, self.at)
        if not isinstance(value, list | tuple) or not value:
            raise self.expected(
                "[low, high]" if shape == "pair" else "a list [a, b, …]", value, self.at
            )
        if shape == "pair" and len(value) != 2:
            raise self.fail(f"between takes two values [low, high], not {len(value)}")
        items = tuple(self.scalar(item, (*self.at, i)) for i, item in enumerate(value))
        if shape == "pair" and _out_of_order(*items):
            raise self.fail(f"{op}: low {_describe(value[0])} is above high {_describe(value[1])}")
        return items

    def scalar(self, value: object, at: Path) -> Any:
        if value is None:
            raise self.fail("null is not a value to compare with; use {exists: false}", at)
        if isinstance(value, list | tuple):
            if self.op == "eq":
                raise self.fail("a list needs an operator, such as {in: [a, b]}", at)
            raise self.expected("one value", value, at)
        if isinstance(value, Mapping):
            raise self.expected("a value", value, at)
        return getattr(self, f"_{self.field.kind}")(value, at)

    def _text(self, value: object, at: Path) -> str:
        if not isinstance(value, str):
            raise self.expected("text (quote it)", value, at)
        if not value and self.op in ("contains", "starts_with"):
            raise self.expected("some text", value, at)
        return value

    def _bool(self, value: object, at: Path) -> bool:
        if not isinstance(value, bool):
            raise self.expected("true or false", value, at)
        return value

    def _number(self, value: object, at: Path) -> Decimal:
        result = number(value)
        if result is None:
            raise self.expected("a number", value, at)
        return result

    def _age(self, value: object, at: Path) -> int:
        years = number(value)
        if years is None or years != int(years) or not 0 <= years <= 150:
            raise self.expected("whole years from 0 to 150", value, at)
        return int(years)

    def _count(self, value: object, at: Path) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.expected("a whole number from 0", value, at)
        return value

    def _date(self, value: object, at: Path) -> date | datetime | Relative:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=business_tz())
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise self.expected(_DATE_FORMS, value, at)
        if value[:1] in "+-":
            try:
                return _relative(value)
            except ValueError as exc:
                raise self.fail(str(exc), at) from None
        try:
            parsed = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
        except ValueError:
            hint = (
                f"; a relative time needs a sign: -{value} or +{value}"
                if _is_duration(value)
                else ""
            )
            raise self.fail(f"{self.op} expects {_DATE_FORMS}, got {value!r}{hint}", at) from None
        return self._date(parsed, at)

    _instant = _date

    def _json(self, value: object, at: Path) -> Any:
        if self.op == "starts_with" or (isinstance(value, str) and self.op == "contains"):
            return self._text(value, at)
        if isinstance(value, bool):
            if self.op in ("lt", "lte", "gt", "gte", "between"):
                raise self.expected(
                    "a number, text or a date (true and false have no order)", value, at
                )
            return value
        if number(value) is not None:
            return self._number(value, at)
        if self.op == "contains" and isinstance(value, date):
            raise self.expected("text, a number, true or false", value, at)
        if isinstance(value, str) and not (value[:1] in "+-" and _is_duration(value[1:])):
            return value
        return self._date(value, at)


_DATE_FORMS = "a date (2026-01-01), a time (2026-01-01T09:00+09:00) or -30d / +7d"


def _is_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def _out_of_order(low: Any, high: Any) -> bool:
    if isinstance(low, Relative) and isinstance(high, Relative):
        return low.delta > high.delta
    if number(low) is not None and number(high) is not None:
        return bool(low > high)
    same = type(low) is type(high) and isinstance(low, str | date)
    return same and bool(low > high)
