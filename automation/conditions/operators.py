"""The operator table: each operator's operand shape, its test in Python, and its clause
over a :class:`Target` (a field in SQL). The Python side keeps the rules that
``targets.py`` lists for SQL, so the two agree.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import and_, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from automation.conditions.times import local_date

Clause = ColumnElement[bool]
# The primitive comparisons, shared by Python values and SQLAlchemy columns.
ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


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
    return pair is not None and bool(ORDER[op](*pair))


# --- the operator table ------------------------------------------------------------


# Declared here rather than in targets.py: the table needs only this shape, and the
# targets import ORDER from this module.
class Target(Protocol):
    """A field in SQL."""

    def present(self) -> Clause:
        """The value is there and not null."""
        ...

    def test(self, op: str, operand: Any) -> Clause:
        """A primitive operator with a resolved operand; false when the value is missing."""
        ...


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
