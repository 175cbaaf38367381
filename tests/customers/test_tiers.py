"""Value tiers: VIP from active policies at each threshold's edge (the pure rule and the
daily job's SQL agree), recomputed on policy events through the real pipeline and by
the daily job, and the shipped ``vip`` segment filling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pendulum
import pytest
from sqlmodel import select

from automation import clock
from automation.config import get_settings
from automation.customers import tiers
from automation.db import session_scope
from automation.models import Customer, Policy, SegmentMember
from automation.scheduler.jobs.segments import run_segments
from automation.scheduler.jobs.tiers import run_tiers
from automation.segments import registry
from tests.journey_world import World

TODAY = date(2026, 11, 2)  # START's local day
TEN_YEARS = date(2016, 11, 2)  # exactly VIP_MIN_TENURE_YEARS before it


@dataclass
class P:
    status: str = "active"
    premium: Decimal | None = None
    start_date: date | None = date(2025, 1, 1)


def _won(amount: str) -> Decimal:
    return Decimal(amount)


# (what, policies, expected) — every threshold exactly at and just under it.
CASES = [
    ("three active policies", [P(), P(), P()], "vip"),
    ("two active policies", [P(), P()], "regular"),
    ("three, one cancelled", [P(), P(), P("cancelled")], "regular"),
    ("three, one matured", [P(), P(), P("matured")], "regular"),
    ("250,000 a month is 3,000,000 a year", [P(premium=_won("250000"))], "vip"),
    ("split over two policies", [P(premium=_won("100000")), P(premium=_won("150000"))], "vip"),
    ("a won under", [P(premium=_won("249999.99"))], "regular"),
    ("a cancelled premium counts nothing", [P("cancelled", _won("400000"))], "regular"),
    ("a matured premium counts nothing", [P("matured", _won("400000")), P()], "regular"),
    ("two, the oldest exactly ten years", [P(start_date=TEN_YEARS), P()], "vip"),
    (
        "two, a day short of ten years",
        [P(start_date=TEN_YEARS + timedelta(days=1)), P()],
        "regular",
    ),
    ("ten years needs two policies", [P(start_date=date(2000, 1, 1))], "regular"),
    (
        "the old one cancelled",
        [P("cancelled", start_date=date(2000, 1, 1)), P(), P("matured")],
        "regular",
    ),
    ("no start date, no tenure", [P(start_date=None), P(start_date=None)], "regular"),
    ("no policies", [], "regular"),
]


@pytest.mark.parametrize(("what", "policies", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_rule_at_each_threshold(what: str, policies: list[P], expected: str) -> None:
    assert tiers.computed_tier(policies, TODAY, get_settings()).value == expected


def test_the_daily_sql_agrees_with_the_rule_at_every_edge(database: str) -> None:
    world = World(builtin=False)
    for n, (_, policies, _) in enumerate(CASES):
        cid = world.customer(f"C{n}")
        with session_scope() as s:
            for i, p in enumerate(policies):
                s.add(
                    Policy(
                        policy_id=f"P{n}-{i}",
                        customer_id=cid,
                        status=p.status,
                        premium=p.premium,
                        start_date=p.start_date,
                    )
                )
    with session_scope() as s:  # a stale VIP with nothing behind it goes back to regular
        stale = s.get(Customer, "C1")
        assert stale is not None
        stale.value_tier = "vip"
    assert tiers.recompute(TODAY) == sum(e == "vip" for _, _, e in CASES) + 1
    with session_scope() as s:
        got = {c.customer_id: c.value_tier for c in s.exec(select(Customer))}
    assert got == {f"C{n}": expected for n, (_, _, expected) in enumerate(CASES)}
    assert tiers.recompute(TODAY) == 0  # nothing left to change


def _tier(customer_id: str = "C1") -> str:
    with session_scope() as s:
        row = s.get(Customer, customer_id)
        assert row is not None
        return row.value_tier


def _members(segment: str) -> list[str]:
    with session_scope() as s:
        rows = s.exec(select(SegmentMember).where(SegmentMember.segment_id == segment))
        return sorted(r.customer_id for r in rows)


def test_policy_events_move_the_tier_and_the_vip_segment(database: str) -> None:
    world = World(builtin=False)
    registry.publish_builtin()
    world.customer("C1")
    world.send("login", "C1")
    assert _tier() == "regular" and _members("regular") == ["C1"]
    world.send("policy_purchased", "C1", policy_id="P1", premium=150_000)
    assert _tier() == "regular" and _members("vip") == []
    world.send("policy_purchased", "C1", policy_id="P2", premium=100_000)  # 250,000 a month
    assert _tier() == "vip"
    assert _members("vip") == ["C1"] and _members("regular") == []
    world.send("policy_cancelled", "C1", policy_id="P2")
    assert _tier() == "regular"
    assert _members("vip") == [] and _members("regular") == ["C1"]
    world.send("policy_renewed", "C1", policy_id="P2")  # active again
    assert _tier() == "vip" and _members("vip") == ["C1"]
    world.send("policy_matured", "C1", policy_id="P1")
    assert _tier() == "regular" and _members("vip") == []


def test_the_daily_job_counts_tenure_reached_with_time(database: str) -> None:
    world = World(builtin=False)
    registry.publish_builtin()
    world.customer("C1")
    world.customer("C2")
    # Two policies, the oldest ten years old tomorrow (local), written by the CRM.
    with session_scope() as s:
        s.add(Policy(policy_id="P1", customer_id="C1", start_date=date(2016, 11, 3)))
        s.add(Policy(policy_id="P2", customer_id="C1", start_date=date(2024, 5, 1)))
        s.add(Policy(policy_id="P3", customer_id="C2", start_date=date(2016, 11, 3)))
    world.send("login", "C1")
    run_tiers(clock.now())
    run_segments(clock.now())
    assert _tier("C1") == "regular" and _members("vip") == []
    # Tomorrow 08:59 Seoul: the day is not due before DAILY_JOB_HOUR (09:00).
    clock.freeze(pendulum.datetime(2026, 11, 3, 8, 59, tz="Asia/Seoul"))
    run_tiers(clock.now())
    assert _tier("C1") == "regular"
    clock.freeze(pendulum.datetime(2026, 11, 3, 9, 0, tz="Asia/Seoul"))
    run_tiers(clock.now())
    assert _tier("C1") == "vip" and _tier("C2") == "regular"  # C2 holds one policy
    entered = run_segments(clock.now())
    assert _members("vip") == ["C1"] and entered >= 2  # vip entered, regular exited
    # The day is done: a tier set by hand meanwhile waits for the next day's run.
    with session_scope() as s:
        c2 = s.get(Customer, "C2")
        assert c2 is not None
        c2.value_tier = "vip"
    run_tiers(clock.now())
    assert _tier("C2") == "vip"
    clock.freeze(pendulum.datetime(2026, 11, 4, 10, 0, tz="Asia/Seoul"))
    run_tiers(clock.now())
    assert _tier("C2") == "regular"
