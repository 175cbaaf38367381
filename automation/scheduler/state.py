"""The scheduler's memory: which local days each daily job has covered, per scope.

A daily job asks :func:`due_days` for the days it still owes, oldest first, does
each one and records it with :func:`day_done`. After an outage it therefore covers
every missed day in order, once; a day done twice (two leaders overlapping for a
moment) creates nothing twice, because every event id names its day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from automation import clock
from automation.config import get_settings
from automation.db import get_engine, mark_redoable
from automation.db.sql import dialect_insert
from automation.models import SchedulerState

_state = SchedulerState.__table__  # type: ignore[attr-defined]


def due_days(job: str, scope: str, today: date) -> list[date]:
    """The days after the last one done up to ``today``, oldest first; on a job's first
    run only ``today``. An outage longer than ``SCHEDULER_CATCH_UP_DAYS`` is caught up
    that far back, no further."""
    last = last_day(job, scope)
    if last is None:
        return [today]
    first = max(
        last + timedelta(days=1), today - timedelta(days=get_settings().scheduler_catch_up_days)
    )
    return [first + timedelta(days=i) for i in range((today - first).days + 1)]


def last_day(job: str, scope: str = "*") -> date | None:
    """The last day ``job`` covered in ``scope``, if any."""
    query = select(_state.c.last_day).where(_state.c.job == job, _state.c.scope == scope)
    with get_engine().connect() as conn:
        value: date | None = conn.execute(query).scalar_one_or_none()
    return value


def day_done(job: str, scope: str, day: date, emitted: int) -> None:
    """Record that ``day`` is covered (never moves the mark backwards)."""
    current = last_day(job, scope)
    if current is not None and current >= day:
        return
    _save(job, scope, {"last_day": day, "last_emitted": emitted})


def ran(job: str, emitted: int, at: datetime | None = None) -> None:
    """Record a run of ``job`` (for status reports)."""
    _save(job, "*", {"last_run_at": at or clock.now(), "last_emitted": emitted})


def runs() -> list[SchedulerState]:
    """Every job's and scope's state, for ``automation scheduler --status``."""
    with get_engine().connect() as conn:
        rows = conn.execute(select(_state).order_by(_state.c.job, _state.c.scope))
        return [SchedulerState(**row._mapping) for row in rows]


def _save(job: str, scope: str, values: dict[str, object]) -> None:
    row = {"job": job, "scope": scope, "last_emitted": 0, **values}
    with get_engine().begin() as conn:
        mark_redoable(conn)  # lost in a crash: the day is covered again, creating nothing twice
        insert = dialect_insert(conn, _state).values(row)
        conn.execute(insert.on_conflict_do_update(index_elements=["job", "scope"], set_=values))
