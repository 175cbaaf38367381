"""The service desk's figures, per category: complaints and inquiries answered, and how
long they took.

Definitions (the ``service`` queue's tasks, ``delivery/queues.py``):

- **opened**: tasks created in the period; **closed**: tasks answered in the period;
- **open now**: tasks not answered yet, whenever they were opened;
- **hours to close**: from a task's creation to its answer, for the tasks closed in the
  period: the median and the 90th percentile (linear between ranks), in hours, one
  decimal; None when none was closed;
- **outcomes**: the closed tasks by outcome (``resolved``, ``escalated``, ``callback``).

A task without a category (opened before the desk knew them) counts under ``(none)``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col

from automation import clock
from automation.db import session_scope
from automation.delivery.queues import SERVICE_OUTCOMES
from automation.models import CallTask
from automation.reports.period import Period

QUEUE = "service"
NO_CATEGORY = "(none)"


@dataclass
class _Category:
    opened: int = 0
    closed: int = 0
    open_now: int = 0
    hours: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICE_OUTCOMES, 0))


def service_report(period: Period) -> dict[str, Any]:
    """The service desk's figures for ``period`` (JSON-ready): per category, and all."""
    start, end = period.start_utc, period.end_utc
    query = select(
        col(CallTask.category),
        col(CallTask.status),
        col(CallTask.outcome),
        col(CallTask.created_at),
        col(CallTask.completed_at),
    ).where(
        col(CallTask.queue) == QUEUE,
        or_(
            col(CallTask.status) != "done",
            (col(CallTask.created_at) >= start) & (col(CallTask.created_at) < end),
            (col(CallTask.completed_at) >= start) & (col(CallTask.completed_at) < end),
        ),
    )
    with session_scope() as session:
        rows = session.connection().execute(query).all()
    categories: dict[str, _Category] = defaultdict(_Category)
    total = _Category()
    for category, status, outcome, created, completed in rows:
        for into in (categories[category or NO_CATEGORY], total):
            _count(into, status, outcome, clock.to_utc(created or start), completed, start, end)
    listed = [{"category": name, **_figures(categories[name])} for name in sorted(categories)]
    everything = {"category": "all", **_figures(total)}
    return {
        "period": period.to_dict(),
        "categories": listed,
        "total": _figures(total),
        # One level of plain values a row (the table, CSV and HTML): outcomes as columns.
        "rows": [_flat(row) for row in [*listed, everything]],
    }


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    outcomes = row["outcomes"]
    return {k: v for k, v in row.items() if k != "outcomes"} | {
        name: outcomes.get(name, 0) for name in SERVICE_OUTCOMES
    }


def _count(
    into: _Category,
    status: str,
    outcome: str | None,
    created: datetime,
    completed: datetime | None,
    start: datetime,
    end: datetime,
) -> None:
    if start <= created < end:
        into.opened += 1
    if status != "done" or completed is None:
        into.open_now += 1
        return
    completed = clock.to_utc(completed)
    if start <= completed < end:
        into.closed += 1
        into.hours.append((completed.timestamp() - created.timestamp()) / 3600)
        if outcome:
            into.outcomes[outcome] = into.outcomes.get(outcome, 0) + 1


def _figures(c: _Category) -> dict[str, Any]:
    return {
        "opened": c.opened,
        "closed": c.closed,
        "open_now": c.open_now,
        "median_hours": percentile(c.hours, 50),
        "p90_hours": percentile(c.hours, 90),
        "outcomes": dict(c.outcomes),
    }


def percentile(values: list[float], pct: float) -> float | None:
    """The ``pct`` percentile of ``values`` (linear between ranks), one decimal; None if
    there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 1)
