"""Targets: the SQL side of the primitive operators, one kind of field each.

In SQL a field becomes a *target* (a typed column, a key of a JSON column, the age, a
count) whose ``present()`` and ``test(op, operand)`` are never NULL, so ``NOT`` and
``OR`` mean what they mean in Python. Python and SQL share these rules: text orders by
code point (``COLLATE "C"`` on PostgreSQL, SQLite's binary default); a JSON value
compares only with an operand of its own kind (text, number, true/false), and with a
date by its first ten characters; a date against a time compares the time's date in
the business time zone; a missing value fails every primitive test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, and_, case, cast, func, or_, true
from sqlalchemy.sql.elements import ColumnElement

from automation.conditions.dialects import CodePoint, JsonArrayHas, JsonIs
from automation.conditions.operators import ORDER, Clause
from automation.conditions.times import local_date, years_before


def _text_test(expr: Any, op: str, x: str) -> Clause:
    if op == "contains":
        return func.replace(expr, x, "") != expr  # type: ignore[no-any-return]
    if op == "starts_with":
        return func.substr(expr, 1, len(x)) == x  # type: ignore[no-any-return]
    return ORDER[op](expr if op == "eq" else CodePoint(expr), x)  # type: ignore[no-any-return]


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
            tested = ORDER[op](self.expr, local_date(x, self.tz))
        elif self.kind == "instant" and not isinstance(x, datetime):
            tested = _instant_vs_date(self.expr, op, x, self.tz)
        else:
            tested = ORDER[op](self.expr, x)
        return and_(self.present(), tested)


@dataclass(frozen=True, slots=True)
class CountTarget:
    """A count from a subquery: never missing."""

    expr: ColumnElement[Any]

    def present(self) -> Clause:
        return true()

    def test(self, op: str, x: Any) -> Clause:
        return ORDER[op](self.expr, x)  # type: ignore[no-any-return]


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
        return JsonIs(self.column, self.key, kinds)

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
            return and_(guard, ORDER[op](case((guard, cast(text, Numeric()))), Decimal(x)))
        if isinstance(x, datetime):
            x = local_date(x, self.tz)
        if isinstance(x, date):
            text, x = func.substr(text, 1, 10), x.isoformat()
        return and_(self._is("string"), _text_test(text, op, x))

    def _in_array(self, item: str | bool | Decimal) -> Clause:
        return and_(self._is("array"), JsonArrayHas(self.column, self.key, item))
