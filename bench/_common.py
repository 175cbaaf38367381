"""What the benchmarks share: timing a phase, the bench's own PostgreSQL database and
its settings, a bare psycopg connection, checks that stop a run whose figures would
mean nothing, and peak memory.

The scripts run as ``python bench/<name>.py``, so this folder is on ``sys.path``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")


@dataclass(slots=True)
class Figure:
    """One timed phase: ``count`` things (``unit``) in ``seconds``."""

    name: str
    count: int
    unit: str
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        rate = f"{self.rate:>10,.0f} {self.unit}/s"
        return f"{self.name:<36} {self.count:>9,} {self.unit:<11} {self.seconds:8.3f} s {rate}"


def measure(name: str, count: int, unit: str, work: Callable[[], T]) -> tuple[Figure, T]:
    """Time ``work()``, print the figure, return it with what ``work`` returned."""
    started = time.perf_counter()
    result = work()
    figure = Figure(name, count, unit, time.perf_counter() - started)
    print(figure.line(), flush=True)
    return figure, result


class BenchError(Exception):
    """A phase did not do what it should (rows missing, events not stored…)."""


def check(ok: bool, message: str) -> None:
    """Stop the run: a figure over wrong work is worse than none."""
    if not ok:
        raise BenchError(message)


def parse_quick(parser: argparse.ArgumentParser, quick: dict[str, Any]) -> argparse.Namespace:
    """Parse the command line, with ``--quick``: the sizes in ``quick`` (small, for CI:
    every bench together in minutes) replace the default or given ones."""
    sizes = ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in quick.items())
    parser.add_argument("--quick", action="store_true", help=f"{sizes} (CI)")
    args = parser.parse_args()
    if args.quick:
        vars(args).update(quick)
    return args


def bench_db(name: str) -> str:
    """The bench's database ``name`` + ``BENCH_DB_SUFFIX`` from the environment, so a run
    (the test suite's) does not drop the database of another run beside it."""
    suffix = os.environ.get("BENCH_DB_SUFFIX", "")
    check(re.fullmatch(r"[a-z0-9_]*", suffix) is not None, "BENCH_DB_SUFFIX: a-z, 0-9, _ only")
    return name + suffix


def pg_reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def recreate_pg_database(admin_url: str, name: str) -> str:
    """Drop and create ``name``; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def peak_rss_mib() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def use_database(database_url: str) -> None:
    """Export the bench's settings (this database, no broker: processing runs in the
    bench's process) and migrate it."""
    os.environ["AUTOMATION_DATABASE_URL"] = database_url
    os.environ["AUTOMATION_BROKER_URL"] = "stub://"
    os.environ.setdefault("AUTOMATION_SECRET_KEY", "bench-" + secrets.token_hex(16))
    from automation.config import reset_settings
    from automation.db.migrate import upgrade

    reset_settings()
    upgrade("head", database_url=database_url)


def note_autovacuum(url: str, remedy: str) -> None:
    """Say so when the server's autovacuum is off (``remedy``: what the bench does)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
    if row and row[0] == "off":
        print(f"note: autovacuum is off on this server: the bench runs {remedy}")


def own_pg_database(admin_url: str, name: str, overridden: str, remedy: str) -> str:
    """(Re)create the bench's PostgreSQL database, use it, migrate it; its psycopg URL.

    ``overridden`` says why a database given in the environment is not used.
    """
    check(pg_reachable(admin_url), f"PostgreSQL unreachable at {admin_url}")
    if os.environ.get("AUTOMATION_DATABASE_URL"):
        print(f"note: AUTOMATION_DATABASE_URL is overridden: {overridden}")
    url = recreate_pg_database(admin_url, name)
    print(f"database: {url} (re-created by the bench)")
    use_database(url.replace("postgresql://", "postgresql+psycopg://", 1))
    note_autovacuum(url, remedy)
    return url


class PgBare:
    """A bare psycopg 3 connection (autocommit; explicit transactions)."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def run(self, text: str, params: Any = ()) -> None:
        self.conn.execute(text, params)

    def rows(self, text: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(text, params).fetchall())

    def scalar(self, text: str, params: Any = ()) -> int:
        row = self.conn.execute(text, params).fetchone()
        return int(row[0] or 0) if row else 0

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(columns)
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def checkpoint(self) -> None:
        """``CHECKPOINT`` before a timed phase: the set-up's WAL does not trigger one
        during it, and every phase pays the same full-page images on its first writes."""
        try:
            self.run("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            print("note: CHECKPOINT refused (not superuser): timings may include one")
