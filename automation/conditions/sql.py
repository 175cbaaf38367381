"""Compiled conditions: nodes that test one customer in Python and select many in SQL.

Every node has ``matches(facts)`` and ``to_sql(now)``, built from one operator table.
In SQL a field becomes a *target* (a typed column, a key of a JSON column, the age, a
count) whose ``present()`` and ``test(op, operand)`` are never NULL, so ``NOT`` and
``OR`` mean what they mean in Python. Python and SQL share these rules: text orders by
code point (``COLLATE "C"`` on PostgreSQL, SQLite's binary default); a JSON value
compares only with an operand of its own kind (text, number, true/false), and with a
date by its first ten characters; a date against a time compares the time's date in
the business time zone; a missing value fails every primitive test.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Numeric,
    String,
    Table,
    and_,
    case,
    cast,
    collate,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from automation.config import get_settings
from automation.models import Customer, Event, Policy, SegmentMember

if TYPE_CHECKING:
    from automation.conditions.core import Facts

Clause = ColumnElement[bool]
CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
POLICIES: Table = Policy.__table__  # type: ignore[attr-defined]
EVENTS: Table = Event.__table__  # type: ignore[attr-defined]
SEGMENT_MEMBERS: Table = SegmentMember.__table__  # type: ignore[attr-defined]
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def business_tz() -> tzinfo:
    """The business time zone (``settings.timezone``)."""
    return ZoneInfo(get_settings().timezone)


def local_date(value: datetime, tz: tzinfo) -> date:
    """The calendar date of ``value`` in ``tz`` (a naive value is taken as UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(tz).date()


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# --- the Python side of the primitive operators ------------------------------------


def number(value: Any) -> Decimal | None:
    """A finite int, float or Decimal as a Decimal (floats by their shortest text)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return result if result.is_finite() else None


def _comparable(value: Any, x: Any, tz: tzinfo) -> tuple[Any, Any] | None:
    """``value`` and operand ``x`` in one domain, or None when their kinds differ."""
    if isinstance(x, bool):
        return (value, x) if isinstance(value, bool) else None
    if isinstance(x, int | Decimal):
        value = number(value)
        return None if value is None else (value, x)
    if isinstance(x, str):
        return (value, x) if isinstance(value, str) else None
    if isinstance(x, datetime):
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC), x)
        x = local_date(x, tz)
    if isinstance(value, datetime):
        return (local_date(value, tz), x)
    if isinstance(value, date):
        return (value, x)
    return (value[:10], x.isoformat()) if isinstance(value, str) else None


def py_test(op: str, value: Any, x: Any, tz: tzinfo) -> bool:
    """A primitive operator in Python; a missing value (None) fails."""
    if value is None:
        return False
    if op == "contains":
        if isinstance(value, str):
            return isinstance(x, str) and x in value
        return isinstance(value, list) and any(py_test("eq", v, x, tz) for v in value)
    if op == "starts_with":
        return isinstance(value, str) and value.startswith(x)
    pair = _comparable(value, x, tz)
    return pair is not None and bool(_ORDER[op](*pair))


# --- dialect-specific SQL pieces ---------------------------------------------------


class _CodePoint(ColumnElement[str]):
    """Text that orders by code point, as Python orders strings."""

    inherit_cache = True
    type = String()
    _traverse_internals = [("expr", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, expr: ColumnElement[Any]) -> None:
        self.expr = expr


@compiles(_CodePoint)
def _code_point(element: _CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.expr, **kw)


@compiles(_CodePoint, "postgresql")
def _code_point_pg(element: _CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(collate(element.expr, "C"), **kw)


class _JsonTest(ColumnElement[bool]):
    """Base of tests on the JSON value at ``key`` of ``column`` (compiled in parentheses)."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [  # noqa: RUF012
        ("column", InternalTraversal.dp_clauseelement),
        ("key", InternalTraversal.dp_string),
        ("arg", InternalTraversal.dp_plain_obj),
        ("arg_type", InternalTraversal.dp_string),  # True == 1: the type tells them apart
    ]

    def __init__(self, column: ColumnElement[Any], key: str, arg: Any) -> None:
        self.column, self.key, self.arg = column, key, arg
        self.arg_type = type(arg).__name__

    def sqlite_path(self) -> Any:
        return literal(f'$."{self.key}"', String)

    def pg_value(self) -> Any:
        return self.column.op("->")(literal(self.key, String))


class _JsonIs(_JsonTest):
    """The value is of one of the kinds ``arg``: string number true false array object."""

    inherit_cache = True


class _JsonArrayHas(_JsonTest):
    """The value is an array with ``arg`` (text, a Decimal or a bool) as an element."""

    inherit_cache = True


_SQLITE_KINDS = {"string": ("text",), "number": ("integer", "real")}


@compiles(_JsonIs)
def _json_is(element: _JsonIs, compiler: SQLCompiler, **kw: Any) -> str:
    names = [name for kind in element.arg for name in _SQLITE_KINDS.get(kind, (kind,))]
    kind = func.coalesce(func.json_type(element.column, element.sqlite_path()), "missing")
    return compiler.process(kind.in_(names).self_group(), **kw)


@compiles(_JsonIs, "postgresql")
def _json_is_pg(element: _JsonIs, compiler: SQLCompiler, **kw: Any) -> str:
    value = element.pg_value()
    parts = [func.coalesce(value == cast(literal(k), JSONB), false()) for k in ("true", "false")]
    tests: list[Any] = [
        p for k, p in zip(("true", "false"), parts, strict=True) if k in element.arg
    ]
    typed = [k for k in element.arg if k not in ("true", "false")]
    if typed:
        tests.append(func.coalesce(func.jsonb_typeof(value), "missing").in_(typed))
    return compiler.process(or_(*tests).self_group(), **kw)


@compiles(_JsonArrayHas)
def _array_has(element: _JsonArrayHas, compiler: SQLCompiler, **kw: Any) -> str:
    each = func.json_each(element.column, element.sqlite_path()).table_valued("value", "type")
    item = element.arg
    if isinstance(item, bool):
        found = each.c.type == ("true" if item else "false")
    elif isinstance(item, Decimal):
        found = and_(each.c.type.in_(["integer", "real"]), each.c.value == float(item))
    else:
        found = and_(each.c.type == "text", each.c.value == item)
    return compiler.process(exists(select(literal(1)).select_from(each).where(found)), **kw)


@compiles(_JsonArrayHas, "postgresql")
def _array_has_pg(element: _JsonArrayHas, compiler: SQLCompiler, **kw: Any) -> str:
    item = element.arg
    text = f"[{item}]" if isinstance(item, Decimal) else json.dumps([item])
    has = element.pg_value().op("@>", return_type=Boolean)(cast(literal(text), JSONB))
    return compiler.process(has.self_group(), **kw)


# --- targets: the SQL side of the primitive operators ------------------------------


class Target(Protocol):
    """A field in SQL."""

    def present(self) -> Clause:
        """The value is there and not null."""
        ...

    def test(self, op: str, operand: Any) -> Clause:
        """A primitive operator with a resolved operand; false when the value is missing."""
        ...


def _text_test(expr: Any, op: str, x: str) -> Clause:
    if op == "contains":
        return func.replace(expr, x, "") != expr  # type: ignore[no-any-return]
    if op == "starts_with":
        return func.substr(expr, 1, len(x)) == x  # type: ignore[no-any-return]
    return _ORDER[op](expr if op == "eq" else _CodePoint(expr), x)  # type: ignore[no-any-return]


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def _instant_vs_date(expr: Any, op: str, day: date, tz: tzinfo) -> Clause:
    start, end = _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
    if op == "eq":
        return and_(expr >= start, expr < end)
    bounds = {"lt": expr < start, "lte": expr < end, "gt": expr >= end, "gte": expr >= start}
    return bounds[op]  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ColumnTarget:
    """A typed column; ``kind`` is text, bool, number, date or instant."""

    expr: ColumnElement[Any]
    kind: str
    tz: tzinfo

    def present(self) -> Clause:
        return self.expr.is_not(None)

    def test(self, op: str, x: Any) -> Clause:
        if self.kind == "text":
            tested = _text_test(self.expr, op, x)
        elif self.kind == "date" and isinstance(x, datetime):
            tested = _ORDER[op](self.expr, local_date(x, self.tz))
        elif self.kind == "instant" and not isinstance(x, datetime):
            tested = _instant_vs_date(self.expr, op, x, self.tz)
        else:
            tested = _ORDER[op](self.expr, x)
        return and_(self.present(), tested)


@dataclass(frozen=True, slots=True)
class CountTarget:
    """A count from a subquery: never missing."""

    expr: ColumnElement[Any]

    def present(self) -> Clause:
        return true()

    def test(self, op: str, x: Any) -> Clause:
        return _ORDER[op](self.expr, x)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class AgeTarget:
    """Whole years from the ``birth`` column to ``today``, as cut-off birth dates."""

    birth: ColumnElement[Any]
    today: date

    def present(self) -> Clause:
        return self.birth.is_not(None)

    def test(self, op: str, x: Any) -> Clause:
        at_least, above = years_before(self.today, int(x)), years_before(self.today, int(x) + 1)
        birth = self.birth
        tests = {
            "gte": birth <= at_least,
            "gt": birth <= above,
            "lte": birth > above,
            "lt": birth > at_least,
            "eq": and_(birth > above, birth <= at_least),
        }
        return and_(self.present(), tests[op])


_ANY_KIND = ("string", "number", "true", "false", "array", "object")


@dataclass(frozen=True, slots=True)
class JsonTarget:
    """One key of a JSON column (customer attributes, event properties)."""

    column: ColumnElement[Any]
    key: str
    tz: tzinfo

    def present(self) -> Clause:
        return self._is(*_ANY_KIND)

    def _is(self, *kinds: str) -> Clause:
        return _JsonIs(self.column, self.key, kinds)

    def test(self, op: str, x: Any) -> Clause:
        text = self.column[self.key].as_string()  # type: ignore[index]
        if op == "contains" and not isinstance(x, str):
            return self._in_array(x)
        if op == "contains":
            return or_(and_(self._is("string"), _text_test(text, op, x)), self._in_array(x))
        if isinstance(x, bool):
            return self._is("true" if x else "false")
        if isinstance(x, int | Decimal):
            guard = self._is("number")
            return and_(guard, _ORDER[op](case((guard, cast(text, Numeric()))), Decimal(x)))
        if isinstance(x, datetime):
            x = local_date(x, self.tz)
        if isinstance(x, date):
            text, x = func.substr(text, 1, 10), x.isoformat()
        return and_(self._is("string"), _text_test(text, op, x))

    def _in_array(self, item: str | bool | Decimal) -> Clause:
        return and_(self._is("array"), _JsonArrayHas(self.column, self.key, item))


# --- the operator table ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator: its operand's shape (scalar, list, pair, flag), in Python and SQL."""

    shape: str
    py: Callable[[Any, Any, tzinfo], bool]
    sql: Callable[[Target, Any], Clause]


def _primitive(op: str) -> Operator:
    return Operator(
        "scalar", lambda v, x, tz: py_test(op, v, x, tz), lambda target, x: target.test(op, x)
    )


def _py_in(value: Any, xs: tuple[Any, ...], tz: tzinfo) -> bool:
    return any(py_test("eq", value, x, tz) for x in xs)


def _sql_in(target: Target, xs: tuple[Any, ...]) -> Clause:
    return or_(*(target.test("eq", x) for x in xs))


OPERATORS: dict[str, Operator] = {
    "eq": _primitive("eq"),
    "ne": Operator(
        "scalar", lambda v, x, tz: not py_test("eq", v, x, tz), lambda t, x: not_(t.test("eq", x))
    ),
    "lt": _primitive("lt"),
    "lte": _primitive("lte"),
    "gt": _primitive("gt"),
    "gte": _primitive("gte"),
    "in": Operator("list", _py_in, _sql_in),
    "not_in": Operator(
        "list", lambda v, xs, tz: not _py_in(v, xs, tz), lambda t, xs: not_(_sql_in(t, xs))
    ),
    "between": Operator(
        "pair",
        lambda v, p, tz: py_test("gte", v, p[0], tz) and py_test("lte", v, p[1], tz),
        lambda t, p: and_(t.test("gte", p[0]), t.test("lte", p[1])),
    ),
    "exists": Operator(
        "flag",
        lambda v, x, tz: (v is not None) == x,
        lambda t, x: t.present() if x else not_(t.present()),
    ),
    "contains": _primitive("contains"),
    "starts_with": _primitive("starts_with"),
}


# --- nodes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Relative:
    """``-30d`` / ``+7d``: a time relative to the evaluation's now."""

    delta: timedelta


def _resolve(operand: Any, now: datetime) -> Any:
    if isinstance(operand, Relative):
        return now + operand.delta
    if isinstance(operand, tuple):
        return tuple(_resolve(item, now) for item in operand)
    return operand


@dataclass(frozen=True, slots=True)
class Test:
    """One operator and its validated operand (a :class:`Relative` until evaluated)."""

    op: str
    operand: Any


def _run_py(tests: tuple[Test, ...], value: Any, now: datetime, tz: tzinfo) -> bool:
    return all(OPERATORS[t.op].py(value, _resolve(t.operand, now), tz) for t in tests)


def _run_sql(tests: tuple[Test, ...], target: Target, now: datetime) -> Clause:
    return and_(*(OPERATORS[t.op].sql(target, _resolve(t.operand, now)) for t in tests))


class Node(Protocol):
    """A compiled condition or part of one."""

    def matches(self, facts: Facts) -> bool: ...

    def to_sql(self, now: datetime) -> Clause: ...


@dataclass(frozen=True, slots=True)
class Field:
    """A field: its path, kind, value in Python and (unless Python-only) target in SQL."""

    path: str
    kind: str
    read: Callable[[Facts, tzinfo], Any]
    target: Callable[[datetime, tzinfo], Target] | None = None


@dataclass(frozen=True, slots=True)
class FieldTest:
    """A field and its operator tests, ANDed; ``at`` is where it was written."""

    field: Field
    tests: tuple[Test, ...]
    at: tuple[str | int, ...]

    def matches(self, facts: Facts) -> bool:
        tz = business_tz()
        return _run_py(self.tests, self.field.read(facts, tz), facts.now, tz)

    def to_sql(self, now: datetime) -> Clause:
        if self.field.target is None:
            raise ValueError(f"{self.field.path} has no SQL form")
        return _run_sql(self.tests, self.field.target(now, business_tz()), now)


@dataclass(frozen=True, slots=True)
class Always:
    """The empty condition."""

    def matches(self, facts: Facts) -> bool:
        return True

    def to_sql(self, now: datetime) -> Clause:
        return true()


@dataclass(frozen=True, slots=True)
class And:
    """Every part matches."""

    parts: tuple[Node, ...]

    def matches(self, facts: Facts) -> bool:
        return all(part.matches(facts) for part in self.parts)

    def to_sql(self, now: datetime) -> Clause:
        return and_(*(part.to_sql(now) for part in self.parts))


@dataclass(frozen=True, slots=True)
class Or:
    """Some part matches."""

    parts: tuple[Node, ...]

    def matches(self, facts: Facts) -> bool:
        return any(part.matches(facts) for part in self.parts)

    def to_sql(self, now: datetime) -> Clause:
        return or_(*(part.to_sql(now) for part in self.parts))


@dataclass(frozen=True, slots=True)
class Not:
    """The part does not match."""

    part: Node

    def matches(self, facts: Facts) -> bool:
        return not self.part.matches(facts)

    def to_sql(self, now: datetime) -> Clause:
        return not_(self.part.to_sql(now))


AT_LEAST_ONE = (Test("gte", 1),)
NONE = (Test("eq", 0),)


class _History:
    """Counts the customer's rows of ``table`` passing ``filters`` and tests the count."""

    table: ClassVar[Table]
    count: tuple[Test, ...]

    def filters(self, customer_id: Any, now: datetime) -> list[Clause]:
        raise NotImplementedError

    def matches(self, facts: Facts) -> bool:
        found = 0
        if facts.session is not None and facts.customer is not None:
            filters = self.filters(facts.customer.customer_id, facts.now)
            query = select(func.count()).select_from(self.table).where(*filters)
            found = int(facts.session.scalar(query))
        return _run_py(self.count, found, facts.now, business_tz())

    def to_sql(self, now: datetime) -> Clause:
        filters = self.filters(CUSTOMERS.c.customer_id, now)
        if self.count in (AT_LEAST_ONE, NONE):
            found = exists(select(self.table.c.customer_id).where(*filters))
            return found if self.count == AT_LEAST_ONE else not_(found)
        counted = select(func.count()).select_from(self.table).where(*filters)
        return _run_sql(self.count, CountTarget(counted.scalar_subquery()), now)


@dataclass(frozen=True, slots=True)
class PolicyCount(_History):
    """How many of the customer's policies pass ``where``, tested by ``count``."""

    table: ClassVar[Table] = POLICIES
    where: tuple[FieldTest, ...]
    count: tuple[Test, ...]

    def filters(self, customer_id: Any, now: datetime) -> list[Clause]:
        return [POLICIES.c.customer_id == customer_id, *(w.to_sql(now) for w in self.where)]


@dataclass(frozen=True, slots=True)
class EventCount(_History):
    """How many of the customer's events of ``types`` up to now (and ``within``) pass."""

    table: ClassVar[Table] = EVENTS
    types: tuple[str, ...]
    within: timedelta | None
    where: tuple[FieldTest, ...]
    count: tuple[Test, ...]

    def filters(self, customer_id: Any, now: datetime) -> list[Clause]:
        at = EVENTS.c.occurred_at
        window = [at <= now] if self.within is None else [at <= now, at >= now - self.within]
        mine = [EVENTS.c.customer_id == customer_id, EVENTS.c.type.in_(self.types)]
        return mine + window + [w.to_sql(now) for w in self.where]


@dataclass(frozen=True, slots=True)
class SegmentMembership(_History):
    """Whether the customer is now in any of ``segments`` (``count`` says in or not in)."""

    table: ClassVar[Table] = SEGMENT_MEMBERS
    segments: tuple[str, ...]
    count: tuple[Test, ...]

    def filters(self, customer_id: Any, now: datetime) -> list[Clause]:
        members = SEGMENT_MEMBERS.c
        return [members.customer_id == customer_id, members.segment_id.in_(self.segments)]
