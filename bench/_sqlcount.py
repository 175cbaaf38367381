"""Counting what the engine says to PostgreSQL during a timed phase: SQLAlchemy's
statements (a ``before_cursor_execute`` listener on ``automation.db.get_engine()``) by
verb and table, their time, commits, pool check-outs, and every psycopg ``execute``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


@dataclass(slots=True)
class Sql:
    """What the engine said to the database during a timed phase."""

    statements: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    commits: int = 0
    checkouts: int = 0
    driver: int = 0  # psycopg executes: the statements, the pings, raw inserts

    @property
    def total(self) -> int:
        return sum(self.statements.values())


def kind(statement: str) -> str:
    """``UPDATE messages``, ``SELECT customers`` …: the verb and the first table."""
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
    table = _TABLE.search(statement)
    return f"{verb} {table.group(1) if table else '-'}"


@contextmanager
def counting() -> Iterator[Sql]:
    """Count the statements, commits and check-outs of ``get_engine()`` meanwhile, and
    every psycopg ``execute`` (ingest writes events on the raw connection, unseen by
    SQLAlchemy's events; ``pool_pre_ping`` pings likewise)."""
    import psycopg
    from sqlalchemy import event

    from automation.db import get_engine

    engine, sql, lock = get_engine(), Sql(), threading.Lock()

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()
        with lock:
            sql.statements[kind(statement)] += 1

    def after(conn: Any, *_: Any) -> None:
        took = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        with lock:
            sql.seconds += took

    def commit(_conn: Any) -> None:
        with lock:
            sql.commits += 1

    def checkout(*_: Any) -> None:
        with lock:
            sql.checkouts += 1

    execute = psycopg.Cursor.execute

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            sql.driver += 1
        return execute(self, *args, **kwargs)

    hooks: list[tuple[str, Callable[..., Any]]] = [
        ("before_cursor_execute", before),
        ("after_cursor_execute", after),
        ("commit", commit),
        ("checkout", checkout),
    ]
    for name, fn in hooks:
        event.listen(engine, name, fn)
    psycopg.Cursor.execute = counted  # type: ignore[method-assign]
    try:
        yield sql
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        for name, fn in hooks:
            event.remove(engine, name, fn)
