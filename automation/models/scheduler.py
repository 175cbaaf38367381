"""What the scheduler has done: the last day each daily job covered, per scope."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from automation.db.types import UTCDateTime


class SchedulerState(SQLModel, table=True):
    """One row per job and scope (a time zone for per-customer-zone jobs, else ``*``).

    ``last_day`` is the last local day whose work is done: after an outage the next run
    covers the days after it, in order, once.
    """

    __tablename__ = "scheduler_state"

    job: str = Field(primary_key=True, max_length=64)
    scope: str = Field(default="*", primary_key=True, max_length=64)
    last_day: date | None = None
    last_run_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_emitted: int = 0
