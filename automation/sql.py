"""Small SQL helpers that differ by dialect, and the retry of transient conflicts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Column, String, Table, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import OperationalError

T = TypeVar("T")
CONFLICT_RETRIES = 5


def dialect_insert(conn: Connection, table: Table) -> Any:
    """An INSERT that knows ``ON CONFLICT`` for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def among(dialect: str, column: Any, values: list[str]) -> Any:
    """``column IN values``; on PostgreSQL one array parameter, whose plan stays fast.

    With one parameter per value, psycopg prepares a repeated query after five runs
    and PostgreSQL's generic plan for a long ``IN`` list can scan the whole table.
    """
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String)))
    return column.in_(values)


def unnest(columns: list[Column[Any]], dialect: Dialect) -> str:
    """``unnest(CAST(:a AS type[]), …)`` over ``columns`` (PostgreSQL): rows as one array
    parameter per column, filled by :func:`column_arrays`."""
    casts = ", ".join(f"CAST(:{c.key} AS {c.type.compile(dialect=dialect)}[])" for c in columns)
    return f"unnest({casts})"


def column_arrays(
    columns: list[Column[Any]], rows: list[dict[str, Any]], dialect: Dialect
) -> dict[str, list[Any]]:
    """Each column's values over ``rows``, bound as the column's type binds them (aware
    times to UTC, naive ones refused; JSON serialised), for :func:`unnest`."""
    params: dict[str, list[Any]] = {}
    for column in columns:
        values = [row[column.key] for row in rows]
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        params[column.key] = [process(v) for v in values] if process else values
    return params


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """``items`` cut into lists of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def is_conflict(exc: OperationalError) -> bool:
    """A deadlock or serialization failure (PostgreSQL), or a busy SQLite: worth retrying."""
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)


def retry_conflicts(work: Callable[[], T], attempts: int = CONFLICT_RETRIES) -> T:
    """Run ``work`` (a whole transaction) again when it lost a conflict; re-raise otherwise."""
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError as exc:
            if not is_conflict(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")
