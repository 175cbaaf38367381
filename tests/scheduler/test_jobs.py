"""Scheduler jobs: what they emit, once, at business-time-zone dates."""

from __future__ import annotations

from datetime import date, timedelta

import pendulum
from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.models import Event
from automation.scheduler.jobs.maturity import run_maturity
from tests.journey_world import World


def _emitted() -> list[tuple[str, str]]:
    with session_scope() as s:
        rows = s.exec(select(Event).where(Event.source == "scheduler").order_by(col(Event.id)))
        return [(e.type, e.properties["policy_id"]) for e in rows]


def test_maturity_fires_20_days_ahead_once_and_catches_up(database: str) -> None:
    world = World(builtin=False)
    clock.freeze(pendulum.datetime(2026, 11, 2, 0, 30, tz="Asia/Seoul"))  # still 1 Nov in UTC
    world.customer("C1")
    world.policy("P20", "C1", date(2026, 11, 22))
    world.policy("P10", "C1", date(2026, 11, 12))  # already inside the window: caught up
    world.policy("P25", "C1", date(2026, 11, 27))
    assert run_maturity() == 2
    assert run_maturity() == 0  # the same day again: nothing new
    assert sorted(_emitted()) == [
        ("policy_maturity_approaching", "P10"),
        ("policy_maturity_approaching", "P20"),
    ]
    clock.advance(timedelta(days=5))
    assert run_maturity() == 1
    assert _emitted()[-1] == ("policy_maturity_approaching", "P25")
    clock.freeze(pendulum.datetime(2026, 11, 13, 9, 0, tz="Asia/Seoul"))
    run_maturity()
    assert ("policy_matured", "P10") in _emitted()
