"""What the benchmarks share: timing a phase, the bench's own PostgreSQL database,
checks that stop a run whose figures would mean nothing, and peak memory.

The scripts run as ``python bench/<name>.py``, so this folder is on ``sys.path``.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

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
