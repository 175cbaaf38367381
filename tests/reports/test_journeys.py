"""Journey results on hand-built enrollments and transitions, every count worked out below."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from automation.db import session_scope
from automation.journeys import yamlmap
from automation.journeys.registry import LIBRARY
from automation.models import Customer, Enrollment, Journey, JourneyVersion, Transition
from automation.reports.journeys import (
    MIN_GROUP,
    Arm,
    Outcomes,
    Verdict,
    journeys_report,
    state_order,
)
from automation.reports.period import Period
from tests.journey_world import World

PERIOD = Period(date(2026, 11, 16), date(2026, 11, 22))  # Seoul: 11-15 15:00Z to 11-22 15:00Z
DAY = timedelta(days=1)
IN = datetime(2026, 11, 16, 1, tzinfo=UTC)  # the period's first morning in Seoul
BEFORE = datetime(2026, 11, 10, 1, tzinfo=UTC)
AFTER = datetime(2026, 11, 23, 1, tzinfo=UTC)
LATE = datetime(2026, 11, 22, 13, tzinfo=UTC)  # 22:00 on the period's last day in Seoul
_ids = itertools.count(1)

# The file's order is not alphabetical, nor PostgreSQL jsonb's (shortest key first).
RETENTION_V1 = """\
journey: retention
name: 만기 유지
entry: {on: policy_maturity_approaching}
start: assign
states:
  assign:
    split:
      - {share: 10, to: holdout, control: true}
      - {share: 90, to: offer}
  holdout:
    after: {wait: 20d, to: done}
  offer:
    do:
      - email: retention_offer
    after: {wait: 3d, to: reminder}
  reminder:
    after: {wait: 4d, to: call}
  call:
    after: {wait: 1d, to: done}
  done:
    end: true
"""
RETENTION_V2 = """\
journey: retention
name: 만기 유지
entry: {on: policy_maturity_approaching}
start: assign
states:
  assign:
    split:
      - {share: 10, to: holdout, control: true}
      - {share: 90, to: offer}
  holdout:
    after: {wait: 20d, to: done}
  offer:
    do:
      - email: retention_offer
    after: {wait: 3d, to: survey}
  survey:
    after: {wait: 1d, to: done}
  done:
    end: true
"""
WELCOME = """\
journey: welcome
name: 환영
entry: {on: signup}
start: thanks
states:
  thanks:
    after: {wait: 3d, to: done}
  done:
    end: true
"""
GOALIE = WELCOME.replace("welcome", "goalie").replace(
    "start: thanks", "goal: {on: policy_purchased}\nstart: thanks"
)


def _version(id_: int, journey: str, version: int, source: str) -> None:
    with session_scope() as s:
        if s.get(Journey, journey) is None:
            data, _ = yamlmap.load(source)
            s.add(Journey(journey_id=journey, name=data["name"]))
            s.flush()
        spec = json.loads(json.dumps(yamlmap.load(source)[0]))
        s.add(
            JourneyVersion(
                id=id_, journey_id=journey, version=version, spec=spec, source=source, checksum="c"
            )
        )
        s.flush()
        j = s.get(Journey, journey)
        assert j is not None
        j.latest_version_id = id_
        s.add(j)


def _enroll(
    version_id: int,
    path: list[str],
    *,
    status: str = "active",
    control: bool = False,
    entered: datetime = IN,
    ended: datetime | None = None,
    journey: str = "retention",
) -> None:
    """An enrollment that moved along ``path`` a day a step from ``entered`` (the first
    entry is the start state's), ending (``ended``, default the last step's time) unless
    it is active."""
    n = next(_ids)
    times = [entered + i * DAY for i in range(len(path))]
    with session_scope() as s:
        s.add(Customer(customer_id=f"C{n}", name=f"고객{n}"))
        s.flush()
        enrollment = Enrollment(
            journey_id=journey,
            version_id=version_id,
            customer_id=f"C{n}",
            state=path[-1],
            status=status,
            control=control,
            entered_at=entered,
            exited_at=None if status == "active" else (ended or times[-1]),
        )
        s.add(enrollment)
        s.flush()
        assert enrollment.id is not None
        for i, (state, at) in enumerate(zip(path, times, strict=True)):
            s.add(
                Transition(
                    enrollment_id=enrollment.id,
                    version_id=version_id,
                    from_state=path[i - 1] if i else None,
                    to_state=state,
                    trigger="entry" if i == 0 else "timer:after",
                    at=at,
                )
            )


def _seed() -> None:
    _version(1, "retention", 1, RETENTION_V1)
    treated = ["assign", "offer"]
    _enroll(1, [*treated, "__converted__"], status="converted")  # T1
    _enroll(1, [*treated, "reminder", "__converted__"], status="converted")  # T2
    _enroll(1, [*treated, "reminder", "call"])  # T3, active
    _enroll(1, [*treated, "__exited__"], status="exited")  # T4
    _enroll(1, [*treated, "reminder", "call", "done"], status="completed")  # T5
    _enroll(1, treated, status="converted", ended=AFTER)  # T6: converted after the period
    held = ["assign", "holdout"]
    _enroll(1, [*held, "__converted__"], status="converted", control=True)  # H1
    _enroll(1, [*held, "done"], status="completed", control=True)  # H2
    _enroll(1, held, control=True)  # H3
    _enroll(1, held, control=True)  # H4
    # entered before the period, moved inside it: in no figure
    _enroll(1, ["assign", "offer", "reminder"], entered=BEFORE + 5 * DAY)
    # entered on the period's last evening, moved on after it: reached only its start
    _enroll(1, ["assign", "offer"], entered=LATE)
    _version(2, "retention", 2, RETENTION_V2)
    _enroll(2, ["assign", "offer", "survey"])  # V1
    _version(3, "welcome", 1, WELCOME)
    _enroll(3, ["thanks", "done"], status="completed", journey="welcome")
    _enroll(3, ["thanks"], journey="welcome")
    _enroll(3, ["thanks"], journey="welcome", entered=AFTER)  # after the period
    _version(4, "quiet", 1, WELCOME.replace("welcome", "quiet"))  # nobody entered


def test_per_step_funnel_in_file_order(database: str) -> None:
    _seed()
    v1 = journeys_report(PERIOD).journey("retention").versions[0]
    assert v1.version == 1
    assert [(s.state, s.reached) for s in v1.steps] == [
        ("assign", 11),
        ("holdout", 4),
        ("offer", 6),  # T1-T6; the late entrant's move to offer came after the end
        ("reminder", 3),  # T2 T3 T5
        ("call", 2),  # T3 T5
        ("done", 2),  # T5 H2
    ]
    assert v1.steps[2].share == 6 / 11


def test_outcomes_as_of_the_period_end(database: str) -> None:
    _seed()
    v1 = journeys_report(PERIOD).journey("retention").versions[0].outcomes
    assert (v1.entered, v1.converted, v1.completed, v1.exited, v1.active) == (11, 3, 2, 1, 5)
    assert v1.goal_rate == 3 / 11


def test_uplift_against_the_holdout(database: str) -> None:
    _seed()
    v1 = journeys_report(PERIOD).journey("retention").versions[0].outcomes
    assert (v1.treatment.entered, v1.treatment.converted) == (7, 2)  # T1 T2 of T1-T6 + late
    assert (v1.control.entered, v1.control.converted) == (4, 1)
    assert v1.uplift == 2 / 7 - 1 / 4
    assert v1.to_dict()["uplift"] == {
        "treatment": {"entered": 7, "converted": 2, "rate": 0.2857},
        "control": {"entered": 4, "converted": 1, "rate": 0.25},
        "uplift": 0.0357,
    }


def test_a_small_holdout_gets_an_interval_and_no_verdict(database: str) -> None:
    """2/7 against 1/4: Newcombe's interval by the formula in ``intervals``; both groups
    are under MIN_GROUP, so the report says "too small" rather than +3.6 pt."""
    _seed()
    v1 = journeys_report(PERIOD).journey("retention").versions[0]
    assert v1.outcomes.verdict() is Verdict.TOO_SMALL
    data = v1.to_dict()
    assert data["uplift_verdict"] == "too_small"
    assert data["uplift_interval"] == {
        "low": -0.4576,
        "high": 0.4457,
        "level": 0.95,
        "method": "Newcombe hybrid score (from Wilson intervals)",
    }


@pytest.mark.parametrize(
    ("treated", "held", "verdict"),
    [
        (Arm(200, 60), Arm(100, 10), Verdict.HIGHER),  # +20 pt: 10.5 to 28.0 pt
        (Arm(200, 30), Arm(100, 15), Verdict.UNCLEAR),  # 0 pt: -9.3 to +8.0 pt
        (Arm(200, 10), Arm(100, 30), Verdict.LOWER),  # -25 pt: -34.9 to -16.0 pt
        (Arm(200, 60), Arm(MIN_GROUP - 1, 1), Verdict.TOO_SMALL),  # a holdout of 29
        (Arm(MIN_GROUP - 1, 20), Arm(100, 10), Verdict.TOO_SMALL),  # 29 treated
        (Arm(200, 60), Arm(MIN_GROUP, 1), Verdict.HIGHER),  # 30 is enough
        (Arm(200, 60), Arm(), Verdict.NO_HOLDOUT),
        (Arm(), Arm(100, 10), Verdict.NO_TREATED),
    ],
)
def test_what_an_uplift_says(treated: Arm, held: Arm, verdict: Verdict) -> None:
    assert Outcomes(treated, held).verdict() is verdict
    assert Outcomes(treated, held).verdict(has_goal=False) is Verdict.NO_GOAL


def test_the_interval_of_a_clear_uplift() -> None:
    outcomes = Outcomes(Arm(200, 60), Arm(100, 10))
    low, high = outcomes.uplift_interval or (0.0, 0.0)
    assert (round(low, 4), round(high, 4)) == (0.1049, 0.2804)
    assert outcomes.to_dict()["uplift_interval"]["low"] == 0.1049


def test_a_journey_sums_its_versions(database: str) -> None:
    _seed()
    retention = journeys_report(PERIOD).journey("retention")
    assert [v.version for v in retention.versions] == [1, 2]
    v2 = retention.versions[1]
    assert [(s.state, s.reached) for s in v2.steps] == [
        ("assign", 1),
        ("holdout", 0),
        ("offer", 1),
        ("survey", 1),
        ("done", 0),
    ]
    assert v2.outcomes.uplift is None  # nobody held out in version 2
    assert retention.outcomes.entered == 12
    assert (retention.outcomes.treatment.entered, retention.outcomes.control.entered) == (8, 4)
    # the latest version's order, then what only version 1 has
    assert [(s.state, s.reached) for s in retention.steps] == [
        ("assign", 12),
        ("holdout", 4),
        ("offer", 7),
        ("survey", 1),
        ("done", 2),
        ("reminder", 3),
        ("call", 2),
    ]


def test_journeys_without_holdout_or_entrants(database: str) -> None:
    _seed()
    report = journeys_report(PERIOD)
    assert [j.journey_id for j in report.journeys] == ["quiet", "retention", "welcome"]
    welcome = report.journey("welcome")
    assert (welcome.outcomes.entered, welcome.outcomes.completed, welcome.outcomes.active) == (
        2,
        1,
        1,
    )
    assert welcome.outcomes.uplift is None
    assert welcome.to_dict()["uplift"]["control"] == {"entered": 0, "converted": 0, "rate": None}
    quiet = report.journey("quiet")
    assert quiet.outcomes == Outcomes()
    assert quiet.versions == []
    assert [(s.state, s.reached, s.share) for s in quiet.steps] == [
        ("thanks", 0, None),
        ("done", 0, None),
    ]


def test_to_dict_shape(database: str) -> None:
    _seed()
    data = journeys_report(PERIOD).to_dict()
    assert data["period"] == {
        "from": "2026-11-16",
        "to": "2026-11-22",
        "days": 7,
        "timezone": "Asia/Seoul",
    }
    welcome = data["journeys"][2]
    assert welcome["journey"] == "welcome"
    assert welcome["name"] == "환영"
    assert welcome["steps"] == [
        {"state": "thanks", "reached": 2, "share": 1.0},
        {"state": "done", "reached": 1, "share": 0.5},
    ]
    assert welcome["end_states"] == ["done"]
    assert welcome["ways_in"] == {"thanks": {"entry": 2}, "done": {"thanks": 1}}
    assert welcome["versions"][0]["version"] == 1


def test_a_journey_without_a_goal_has_no_goal_rate(database: str) -> None:
    """Not 0.0%: the welcome file has no goal, so its rate, arms and uplift are None."""
    _seed()
    welcome = journeys_report(PERIOD).to_dict()["journeys"][2]
    assert welcome["has_goal"] is False
    assert welcome["goal_rate"] is None
    assert welcome["uplift"]["treatment"] == {"entered": 2, "converted": 0, "rate": None}
    assert welcome["uplift_verdict"] == "no_goal"
    assert welcome["uplift_interval"] is None
    assert welcome["versions"][0]["goal_rate"] is None


def test_a_goal_nobody_reached_is_a_rate_of_zero(database: str) -> None:
    _seed()
    _version(5, "goalie", 1, GOALIE)
    _enroll(5, ["thanks"], journey="goalie")
    _enroll(5, ["thanks", "done"], status="completed", journey="goalie")
    goalie = journeys_report(PERIOD).journey("goalie").to_dict()
    assert goalie["has_goal"] is True
    assert goalie["goal_rate"] == 0.0
    assert goalie["uplift_verdict"] == "no_holdout"


def test_steps_say_where_their_enrollments_came_from(database: str) -> None:
    """A split's arms and a state with two ways in: reached is not a funnel."""
    _seed()
    retention = journeys_report(PERIOD).journey("retention")
    v1 = retention.versions[0]
    ways = {s.state: s.came_from for s in v1.steps}
    assert ways["assign"] == {"entry": 11}
    assert ways["holdout"] == {"assign": 4}
    assert ways["offer"] == {"assign": 6}
    assert ways["done"] == {"call": 1, "holdout": 1}  # T5 and H2
    assert [s.state for s in v1.steps if s.end] == ["done"]
    # The journey sums its versions' moves: version 2's entrant went assign → offer.
    assert retention.step("offer").came_from == {"assign": 7}
    assert retention.to_dict()["ways_in"]["survey"] == {"offer": 1}
    # completed = the end states' steps
    assert retention.outcomes.completed == sum(s.reached for s in retention.steps if s.end)


def test_state_order_without_the_source() -> None:
    """Without its YAML the flow's order from the start state, then unreachable states."""
    data, _ = yamlmap.load((LIBRARY / "maturity-retention.yaml").read_text(encoding="utf-8"))
    listed = list(data["states"])
    reordered = {**data, "states": dict(sorted(data["states"].items()))}
    order = state_order(json.loads(json.dumps(reordered)))
    assert order == [
        "assign",
        "holdout",
        "offer",
        "interested",
        "sms_reminder",
        "consultant_call",
        "done",
    ]
    assert sorted(order) == sorted(listed)
    assert state_order(reordered, "not: [yaml") == order
    assert state_order({"states": {"b": {}, "a": {}}}) == ["b", "a"]  # not a valid spec


def test_enrollments_the_engine_made(database: str) -> None:
    """The real engine: a sign-up enters the welcome journey; three days on it moves."""
    world = World()
    world.customer("C1")
    world.send("signup")
    world.after(days=3)
    entered = world.enrollment("welcome").entered_at
    assert entered is not None
    report = journeys_report(Period.of(entered.date(), entered.date() + DAY * 3))
    welcome = report.journey("welcome")
    assert welcome.outcomes.entered == 1
    assert [(s.state, s.reached) for s in welcome.steps] == [
        ("thanks", 1),
        ("tips", 1),
        ("done", 0),
    ]
