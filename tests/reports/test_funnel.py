"""Conversion funnel on a hand-built population whose every count is worked out below."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pendulum
import pytest

from automation import clock
from automation.db import session_scope
from automation.events.ingest import ingest
from automation.models import Customer, Policy
from automation.reports.funnel import Rung, funnel_report
from automation.reports.period import Period
from automation.worker.process import process_events

PERIOD = Period(date(2026, 11, 16), date(2026, 11, 22))


def _ev(
    n: int, type_: str, at: str, *, v: str | None = None, c: str | None = None, **props: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"f{n:02d}",
        "type": type_,
        "occurred_at": f"2026-{at}+09:00",
        "properties": {"url": "/", **props} if type_ == "page_view" else props,
    }
    event.update({k: x for k, x in (("visitor_id", v), ("customer_id", c)) if x})
    return event


def _utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# Customers on file before any event (as an import would leave them).
HOLDER = {"lifecycle_stage": "customer"}
CUSTOMERS: dict[str, dict[str, Any]] = {
    "M1": {"joined_at": _utc(2025, 1, 1)},  # member long before
    "N1": {"joined_at": _utc(2026, 11, 18, 3)},  # joined in the period, never seen on the site
    "F1": {"joined_at": _utc(2024, 5, 1)},
    "F2": {"joined_at": _utc(2024, 5, 1)},
    "R1": {"joined_at": _utc(2024, 1, 1)},
    # R2, R3: policyholders on file (imported), their first policy's time known
    "R2": {"joined_at": _utc(2023, 1, 1), "first_policy_at": _utc(2025, 3, 1), **HOLDER},
    "R3": {"joined_at": _utc(2023, 1, 1), "first_policy_at": _utc(2025, 6, 1), **HOLDER},
    "OLD": {"lifecycle_stage": "repeat"},  # times unknown: always a repeat customer
    "D1": {"lifecycle_stage": "customer"},  # as the demo seeds them: a policy, no times
}
POLICIES = {"P-R2a": "R2", "P-R3": "R3", "P-D1": "D1"}

LOG = [
    _ev(1, "page_view", "11-17T10:00:00", v="vm1", c="M1"),
    # M2 arrives anonymously and signs up inside the period.
    _ev(2, "page_view", "11-17T11:00:00", v="v2"),
    _ev(3, "signup", "11-17T11:05:00", v="v2", c="M2"),
    # M3 browses anonymously in the period and signs up the night after it ends.
    _ev(4, "page_view", "11-20T20:00:00", v="v3"),
    _ev(5, "signup", "11-23T01:00:00", v="v3", c="M3"),
    # F1 buys a first policy; F2 only after the period.
    _ev(6, "login", "11-18T09:00:00", v="vf1", c="F1"),
    _ev(7, "policy_purchased", "11-18T09:30:00", c="F1", policy_id="P-F1"),
    _ev(8, "page_view", "11-21T09:00:00", v="vf2", c="F2"),
    _ev(9, "policy_purchased", "11-23T02:00:00", c="F2", policy_id="P-F2"),
    # R1: first policy in October, second inside the period.
    _ev(10, "policy_purchased", "10-10T10:00:00", c="R1", policy_id="P-R1a"),
    _ev(11, "policy_purchased", "11-19T10:00:00", c="R1", policy_id="P-R1b"),
    # R2 held an imported policy; buying one now makes a second.
    _ev(12, "policy_purchased", "11-20T10:00:00", c="R2", policy_id="P-R2b"),
    # R3 renews its imported policy.
    _ev(13, "policy_renewed", "11-21T10:00:00", c="R3", policy_id="P-R3"),
    _ev(14, "login", "11-21T11:00:00", v="vold", c="OLD"),
    # D1 buys while holding a seeded policy: a second policy, not a first.
    _ev(15, "policy_purchased", "11-19T15:00:00", c="D1", policy_id="P-D1b"),
    # anonymous: one inside, one only the second before the period starts
    _ev(16, "page_view", "11-20T12:00:00", v="va"),
    _ev(17, "page_view", "11-15T23:59:59", v="vbefore"),
    # not active: e-mail is not activity; and a visit after the period
    _ev(18, "email_opened", "11-19T08:00:00", c="N1"),
    _ev(19, "page_view", "11-23T00:00:00", v="vlate"),
]


def _seed() -> None:
    clock.freeze(pendulum.datetime(2026, 11, 23, 10, 0, tz="Asia/Seoul"))
    with session_scope() as s:
        for customer_id, fields in CUSTOMERS.items():
            s.add(Customer(customer_id=customer_id, **fields))
        s.flush()
        for policy_id, customer_id in POLICIES.items():
            s.add(Policy(policy_id=policy_id, customer_id=customer_id))
    result = ingest(LOG, source="test", publish=False)
    assert result.rejected == 0, result.summary()
    process_events(result.stored_ids)


def test_rungs_reached_by_the_end_of_the_period(database: str) -> None:
    _seed()
    report = funnel_report(PERIOD)
    # cohort: M1 M2 M3 F1 F2 R1 R2 R3 OLD D1 va
    # members: all but M3 (joined after the end) and va
    # first policy: F1 R1 R2 R3, OLD and D1 (long ago); F2 bought after the end
    # repeat: R1 R2 R3 D1 (in the period), OLD (long ago)
    assert [(r.name, r.reached) for r in report.rungs] == [
        ("visitor", 11),
        ("member", 9),
        ("first_policy", 6),
        ("repeat", 5),
    ]
    assert [r.rate for r in report.rungs] == [None, 9 / 11, 6 / 9, 5 / 6]


def test_moves_inside_the_period(database: str) -> None:
    _seed()
    report = funnel_report(PERIOD)
    # members: M2 (signed up), N1 (joined, never seen); first policy: F1;
    # repeat: R1 (second purchase), R2 (after an imported policy), R3 (renewal), D1
    assert [r.moved_in for r in report.rungs] == [None, 2, 1, 4]


def test_a_later_period_sees_the_later_moves(database: str) -> None:
    _seed()
    report = funnel_report(Period(date(2026, 11, 23), date(2026, 11, 23)))
    # cohort: M3 (signed up), F2 (bought), vlate
    assert report.rung("visitor") == Rung("visitor", 3, None, None)
    assert (report.rung("member").reached, report.rung("member").moved_in) == (2, 1)
    assert (report.rung("first_policy").reached, report.rung("first_policy").moved_in) == (1, 1)
    assert report.rung("repeat") == Rung("repeat", 0, 0.0, 0)


def test_an_earlier_period_does_not_see_later_rungs(database: str) -> None:
    _seed()
    report = funnel_report(Period(date(2026, 10, 1), date(2026, 10, 31)))
    # R1 alone was active (its first purchase); its second policy came in November.
    assert [(r.reached, r.moved_in) for r in report.rungs] == [(1, None), (1, 0), (1, 1), (0, 0)]


def test_to_dict_is_json(database: str) -> None:
    _seed()
    data = json.loads(json.dumps(funnel_report(PERIOD).to_dict()))
    assert data["period"]["from"] == "2026-11-16"
    assert data["rungs"][1] == {"rung": "member", "reached": 9, "rate": 0.8182, "moved_in": 2}


def test_an_empty_database(database: str) -> None:
    clock.freeze(pendulum.datetime(2026, 11, 23, 10, 0, tz="Asia/Seoul"))
    report = funnel_report(PERIOD)
    assert [(r.reached, r.rate, r.moved_in) for r in report.rungs] == [
        (0, None, None),
        (0, None, 0),
        (0, None, 0),
        (0, None, 0),
    ]


def test_the_default_period_is_the_last_30_days(database: str) -> None:
    clock.freeze(pendulum.datetime(2026, 11, 23, 0, 30, tz="Asia/Seoul"))  # 22 Nov in UTC
    period = Period.of()
    assert (period.start, period.end, period.days) == (date(2026, 10, 25), date(2026, 11, 23), 30)
    assert period.start_utc == _utc(2026, 10, 24, 15)
    assert period.end_utc == _utc(2026, 11, 23, 15)
    assert Period.of("2026-11-01", "2026-11-07").weeks == 1.0
    with pytest.raises(ValueError, match="after it ends"):
        Period.of("2026-11-08", "2026-11-07")
    with pytest.raises(ValueError, match="not a date"):
        Period.of("7 Nov")
