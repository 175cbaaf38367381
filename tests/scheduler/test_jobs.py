"""Scheduler jobs: what they emit, once, at business-time-zone dates."""

from __future__ import annotations

from datetime import date, timedelta

import pendulum
import pytest
from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.models import Enrollment, Event, Journey, JourneyVersion, Timer
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


def test_due_timers_fire_once_oldest_first_a_look_at_a_time(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automation.scheduler.jobs import timers

    world = World(builtin=False)
    now = clock.now()
    with session_scope() as s:
        for journey_id, status in (("live", "active"), ("held", "paused")):
            s.add(Journey(journey_id=journey_id, name=journey_id, status=status))
            s.flush()
            s.add(JourneyVersion(journey_id=journey_id, version=1, checksum="x"))
    with session_scope() as s:
        versions = {v.journey_id: v.id for v in s.exec(select(JourneyVersion))}
    due = [3, 1, 1, 1, 2, 5, 4]  # hours ago; ties broken by id
    customers = [world.customer(f"C{n}") for n in range(len(due))]
    with session_scope() as s:
        for n, (hours, customer) in enumerate(zip(due, customers, strict=True)):
            journey_id = "held" if n == 6 else "live"
            enrollment = Enrollment(
                journey_id=journey_id, version_id=versions[journey_id], customer_id=customer,
                state="wait",
            )  # fmt: skip
            s.add(enrollment)
            s.flush()
            for step, at in ((0, now - timedelta(hours=hours)), (1, now + timedelta(hours=1))):
                s.add(
                    Timer(
                        enrollment_id=enrollment.id, step=step, kind="after", target="x", due_at=at
                    )
                )
    # Small looks and batches: the job reads on from the last (due, id) it fired.
    monkeypatch.setattr(timers, "LOOK", 2)
    monkeypatch.setattr(timers, "BATCH", 1)
    assert timers.fire_due_timers(now) == 6  # not the future ones, nor the paused journey's
    assert timers.fire_due_timers(now) == 0
    with session_scope() as s:
        fired = s.exec(select(Event).where(Event.type == "timer_due").order_by(col(Event.id)))
        assert [e.customer_id for e in fired] == ["C5", "C0", "C4", "C1", "C2", "C3"]
        pending = s.exec(select(Timer).where(col(Timer.fired_at).is_(None))).all()
        assert len(pending) == 8  # 7 in the future, the paused journey's due one
