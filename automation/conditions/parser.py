"""Compiling a condition mapping (docs/conditions.md) into nodes.

:func:`compile_condition` validates the whole mapping up front and returns a
:class:`Condition`; the first problem is a :class:`ConditionError` naming its path
inside the mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from automation.conditions.errors import ConditionError, Path, describe, suggest
from automation.conditions.fields import (
    COUNT,
    Field,
    customer_field,
    event_field,
    event_property,
    policy_column,
)
from automation.conditions.nodes import (
    AT_LEAST_ONE,
    NONE,
    Always,
    And,
    Condition,
    EventCount,
    FieldTest,
    Node,
    Not,
    Or,
    PolicyCount,
    SegmentMembership,
    Test,
)
from automation.conditions.operands import Operand
from automation.conditions.operators import OPERATORS
from automation.conditions.times import parse_duration

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


class _Parser:
    def __init__(self, allow_event: bool) -> None:
        self.allow_event = allow_event
        self.fields: set[str] = set()
        self.event_at: Path | None = None
        self.history = False

    def condition(self, spec: object, at: Path) -> Node:
        if not isinstance(spec, Mapping):
            raise ConditionError(
                at, f"a condition is a mapping of fields to values, not {describe(spec)}"
            )
        nodes = [self.entry(key, value, (*at, key)) for key, value in spec.items()]
        if not nodes:
            return Always()
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def entry(self, key: object, value: object, at: Path) -> Node:
        if not isinstance(key, str):
            raise ConditionError(
                at, f"a condition's keys are field paths or {_TOP_KEYS}, not {describe(key)}"
            )
        if key in ("any", "all"):
            return self.combination(key, value, at)
        if key == "not":
            if not isinstance(value, Mapping) or not value:
                raise ConditionError(
                    at, f"not takes a condition (a mapping), not {describe(value)}"
                )
            return Not(self.condition(value, at))
        if key == "policies":
            return self.policies(value, at)
        if key in ("events", "did", "did_not"):
            return self.events(key, value, at)
        if key in ("in_segment", "not_in_segment"):
            return self.segments(key, value, at)
        if "." not in key:
            hint = suggest(key, [*_COMBINATORS, *_HISTORY])
            raise ConditionError(
                at,
                f"unknown key {key!r}; {hint}(a field customer.…/event.…/policy.…, or {_TOP_KEYS})",
            )
        return self.field_test(self.field(key, at), value, at)

    def combination(self, key: str, value: object, at: Path) -> Node:
        if not isinstance(value, list | tuple) or not value:
            raise ConditionError(
                at, f"{key} takes a non-empty list of conditions, not {describe(value)}"
            )
        parts = tuple(self.condition(item, (*at, i)) for i, item in enumerate(value))
        return Or(parts) if key == "any" else And(parts)

    def field(self, path: str, at: Path) -> Field:
        scope, _, name = path.partition(".")
        if scope == "customer":
            field = customer_field(name, at)
        elif scope in ("event", "policy"):
            if not self.allow_event:
                raise ConditionError(
                    at,
                    f"{path} is not available here: segments select customers without an event",
                )
            field = event_field(scope, name, at)
            self.event_at = self.event_at or at
        else:
            raise ConditionError(
                at, f"unknown field {path!r}: fields start with customer., event. or policy."
            )
        self.fields.add(field.path)
        return field

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
            hint = suggest(str(op), list(OPERATORS))
            raise ConditionError(
                at,
                f"unknown operator {op!r} for {field.path}; {hint}(known: {', '.join(OPERATORS)})",
            )
        assert isinstance(op, str)
        if op not in ALLOWED[field.kind]:
            usable = ", ".join(o for o in OPERATORS if o in ALLOWED[field.kind])
            kind = _KIND_NAMES[field.kind]
            raise ConditionError(at, f"{op} does not apply to {field.path} ({kind}); use {usable}")
        return Test(op, Operand(field, op, at).parse(operand))

    def options(
        self, value: object, at: Path, key: str, allowed: tuple[str, ...]
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise ConditionError(
                at, f"{key} takes a mapping ({', '.join(allowed)}), not {describe(value)}"
            )
        for name in value:
            if name not in allowed:
                hint = suggest(str(name), list(allowed))
                raise ConditionError(
                    (*at, name),
                    f"unknown key {name!r} in {key}; {hint}(expected {', '.join(allowed)})",
                )
        self.history = True
        self.fields.add(key.replace("did_not", "events").replace("did", "events"))
        return value

    def count(self, value: object, at: Path) -> tuple[Test, ...]:
        return self.tests(COUNT, value, at)

    def where(
        self, value: object, at: Path, make: Callable[[str, Path], Field]
    ) -> tuple[FieldTest, ...]:
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            raise ConditionError(
                at, f"where takes a mapping of names to values, not {describe(value)}"
            )
        tests = []
        for name, spec in value.items():
            field = make(str(name), (*at, name))
            self.fields.add(field.path)
            tests.append(self.field_test(field, spec, (*at, name)))
        return tuple(tests)

    def policies(self, value: object, at: Path) -> Node:
        spec = self.options(value, at, "policies", ("count", "where"))
        where = self.where(spec.get("where"), (*at, "where"), policy_column)
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
        where = self.where(spec.get("where"), (*at, "where"), event_property)
        if key == "events":
            count = self.count(spec.get("count", {"gte": 1}), (*at, "count"))
        else:
            count = AT_LEAST_ONE if key == "did" else NONE
        return EventCount(types, within, where, count)


def _event_types(value: object, at: Path, key: str) -> tuple[str, ...]:
    types = value if isinstance(value, list | tuple) else [value]
    if value is None or not types or not all(isinstance(t, str) and t for t in types):
        raise ConditionError(
            at, f"{key} needs a type: an event type or a list of them, not {describe(value)}"
        )
    return tuple(types)  # type: ignore[arg-type]
