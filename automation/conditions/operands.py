"""Operands: checking what follows an operator against its field's kind and the
operator's shape, and turning it into the value the operator compares with."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from automation.conditions.errors import ConditionError, Path, describe
from automation.conditions.fields import Field
from automation.conditions.operators import OPERATORS, number
from automation.conditions.times import Relative, business_tz, parse_duration, relative

_DATE_FORMS = "a date (2026-01-01), a time (2026-01-01T09:00+09:00) or -30d / +7d"


class Operand:
    """Checks an operand against its field's kind and its operator's shape."""

    def __init__(self, field: Field, op: str, at: Path) -> None:
        self.field, self.op, self.at = field, op, at

    def fail(self, reason: str, at: Path | None = None) -> ConditionError:
        """A ConditionError at ``at`` (else the operator's path) naming the field."""
        return ConditionError(self.at if at is None else at, f"{self.field.path}: {reason}")

    def expected(self, what: str, value: object, at: Path) -> ConditionError:
        """A ConditionError: the operator expects ``what`` and got ``value``."""
        return self.fail(f"{self.op} expects {what}, got {describe(value)}", at)

    def parse(self, value: object) -> Any:
        """``value`` checked: a scalar, a tuple for a list or pair, a bool for a flag.

        Raises:
            ConditionError: at the operand, or at the bad item of a list.
        """
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
            raise self.fail(f"{op}: low {describe(value[0])} is above high {describe(value[1])}")
        return items

    def scalar(self, value: object, at: Path) -> Any:
        """One value checked against the field's kind."""
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
                return relative(value)
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
