"""SQL elements that PostgreSQL and SQLite spell differently: code-point text order and
tests on one key of a JSON column. Each compiles in parentheses, so it nests safely."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    String,
    and_,
    cast,
    collate,
    exists,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class CodePoint(ColumnElement[str]):
    """Text that orders by code point, as Python orders strings."""

    inherit_cache = True
    type = String()
    _traverse_internals = [("expr", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, expr: ColumnElement[Any]) -> None:
        self.expr = expr


@compiles(CodePoint)
def _code_point(element: CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.expr, **kw)


@compiles(CodePoint, "postgresql")
def _code_point_pg(element: CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
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


class JsonIs(_JsonTest):
    """The value is of one of the kinds ``arg``: string number true false array object."""

    inherit_cache = True


class JsonArrayHas(_JsonTest):
    """The value is an array with ``arg`` (text, a Decimal or a bool) as an element."""

    inherit_cache = True


_SQLITE_KINDS = {"string": ("text",), "number": ("integer", "real")}


@compiles(JsonIs)
def _json_is(element: JsonIs, compiler: SQLCompiler, **kw: Any) -> str:
    names = [name for kind in element.arg for name in _SQLITE_KINDS.get(kind, (kind,))]
    kind = func.coalesce(func.json_type(element.column, element.sqlite_path()), "missing")
    return compiler.process(kind.in_(names).self_group(), **kw)


@compiles(JsonIs, "postgresql")
def _json_is_pg(element: JsonIs, compiler: SQLCompiler, **kw: Any) -> str:
    value = element.pg_value()
    parts = [func.coalesce(value == cast(literal(k), JSONB), false()) for k in ("true", "false")]
    tests: list[Any] = [
        p for k, p in zip(("true", "false"), parts, strict=True) if k in element.arg
    ]
    typed = [k for k in element.arg if k not in ("true", "false")]
    if typed:
        tests.append(func.coalesce(func.jsonb_typeof(value), "missing").in_(typed))
    return compiler.process(or_(*tests).self_group(), **kw)


@compiles(JsonArrayHas)
def _array_has(element: JsonArrayHas, compiler: SQLCompiler, **kw: Any) -> str:
    each = func.json_each(element.column, element.sqlite_path()).table_valued("value", "type")
    item = element.arg
    if isinstance(item, bool):
        found = each.c.type == ("true" if item else "false")
    elif isinstance(item, Decimal):
        found = and_(each.c.type.in_(["integer", "real"]), each.c.value == float(item))
    else:
        found = and_(each.c.type == "text", each.c.value == item)
    return compiler.process(exists(select(literal(1)).select_from(each).where(found)), **kw)


@compiles(JsonArrayHas, "postgresql")
def _array_has_pg(element: JsonArrayHas, compiler: SQLCompiler, **kw: Any) -> str:
    item = element.arg
    text = f"[{item}]" if isinstance(item, Decimal) else json.dumps([item])
    has = element.pg_value().op("@>", return_type=Boolean)(cast(literal(text), JSONB))
    return compiler.process(has.self_group(), **kw)
