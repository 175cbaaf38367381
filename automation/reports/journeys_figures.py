"""The journey report's figures as dataclasses, and their JSON form (``to_dict``).

The definitions are in ``journeys``'s docstring. New figures are new keys beside the
old ones (``has_goal``, ``uplift_interval``, ``uplift_verdict``, ``end_states``,
``ways_in``), so a reader of the earlier JSON finds its keys unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from automation.reports.intervals import LEVEL, newcombe
from automation.reports.period import Period

# Fewer entrants than this in the holdout (or the treated group) and the uplift is not
# told: at 17, say, a 95% interval spans some 30 points, so the difference seen says
# nothing about the journey. The interval is still given, so the reader sees why.
MIN_GROUP = 30
INTERVAL_METHOD = "Newcombe hybrid score (from Wilson intervals)"
ENTRY = "entry"  # ``ways_in`` key of the entry itself (a transition from no state)


class Verdict(StrEnum):
    """What can be said of a journey's uplift against its holdout."""

    NO_GOAL = "no_goal"  # nothing to convert to
    NO_HOLDOUT = "no_holdout"  # nobody held out in the period
    NO_TREATED = "no_treated"  # everybody held out
    TOO_SMALL = "too_small"  # a group under MIN_GROUP: interval given, no verdict
    HIGHER = "higher"  # the whole interval above 0: the journey helps
    LOWER = "lower"  # the whole interval below 0: the journey hurts
    UNCLEAR = "unclear"  # the interval holds 0: no difference shown


@dataclass(frozen=True, slots=True)
class Step:
    """A state of the journey, how many of the cohort reached it, and from where.

    ``came_from``: state the cohort came from → enrollments (``ENTRY`` for the entry).
    A state with several ways in can count more than the state listed before it.
    """

    state: str
    reached: int
    share: float | None  # of the entered (None: nobody entered)
    end: bool = False  # an end state: reaching it is "completed"
    came_from: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Arm:
    """Treatment or holdout: how many entered and converted."""

    entered: int = 0
    converted: int = 0

    @property
    def rate(self) -> float | None:
        return _rate(self.converted, self.entered)

    def __add__(self, other: Arm) -> Arm:
        return Arm(self.entered + other.entered, self.converted + other.converted)

    def to_dict(self, has_goal: bool = True) -> dict[str, Any]:
        rate = self.rate if has_goal else None
        return {"entered": self.entered, "converted": self.converted, "rate": _round(rate)}


@dataclass(frozen=True, slots=True)
class Outcomes:
    """The cohort's figures (a version's, or a journey's summed over its versions)."""

    treatment: Arm = field(default_factory=Arm)
    control: Arm = field(default_factory=Arm)
    completed: int = 0
    exited: int = 0

    @property
    def entered(self) -> int:
        return self.treatment.entered + self.control.entered

    @property
    def converted(self) -> int:
        return self.treatment.converted + self.control.converted

    @property
    def active(self) -> int:
        return self.entered - self.converted - self.completed - self.exited

    @property
    def goal_rate(self) -> float | None:
        return _rate(self.converted, self.entered)

    @property
    def uplift(self) -> float | None:
        t, c = self.treatment.rate, self.control.rate
        return None if t is None or c is None else t - c

    @property
    def uplift_interval(self) -> tuple[float, float] | None:
        """The uplift's 95% interval (``intervals.newcombe``); None without both groups."""
        t, c = self.treatment, self.control
        if not t.entered or not c.entered:
            return None
        return newcombe(t.converted, t.entered, c.converted, c.entered, LEVEL)

    def verdict(self, has_goal: bool = True) -> Verdict:
        """What the uplift says (``Verdict``); groups under ``MIN_GROUP`` say nothing."""
        t, c = self.treatment.entered, self.control.entered
        if not has_goal:
            return Verdict.NO_GOAL
        if not c:
            return Verdict.NO_HOLDOUT
        if not t:
            return Verdict.NO_TREATED
        if min(t, c) < MIN_GROUP:
            return Verdict.TOO_SMALL
        low, high = self.uplift_interval or (0.0, 0.0)
        return Verdict.HIGHER if low > 0 else Verdict.LOWER if high < 0 else Verdict.UNCLEAR

    def __add__(self, other: Outcomes) -> Outcomes:
        return Outcomes(
            self.treatment + other.treatment,
            self.control + other.control,
            self.completed + other.completed,
            self.exited + other.exited,
        )

    def to_dict(self, has_goal: bool = True) -> dict[str, Any]:
        """JSON-ready; without a goal the rates, the uplift and its interval are None."""
        interval = self.uplift_interval if has_goal else None
        return {
            "entered": self.entered,
            "converted": self.converted,
            "completed": self.completed,
            "exited": self.exited,
            "active": self.active,
            "has_goal": has_goal,
            "goal_rate": _round(self.goal_rate if has_goal else None),
            "uplift": {
                "treatment": self.treatment.to_dict(has_goal),
                "control": self.control.to_dict(has_goal),
                "uplift": _round(self.uplift if has_goal else None),
            },
            "uplift_interval": None
            if interval is None
            else {
                "low": _round(interval[0]),
                "high": _round(interval[1]),
                "level": LEVEL,
                "method": INTERVAL_METHOD,
            },
            "uplift_verdict": self.verdict(has_goal).value,
        }


@dataclass(frozen=True, slots=True)
class VersionResult:
    version: int
    version_id: int
    outcomes: Outcomes
    steps: list[Step]
    has_goal: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "version_id": self.version_id,
            **self.outcomes.to_dict(self.has_goal),
            **steps_dict(self.steps),
        }


@dataclass(frozen=True, slots=True)
class JourneyResult:
    journey_id: str
    name: str
    status: str
    outcomes: Outcomes
    steps: list[Step]
    versions: list[VersionResult]  # those with entrants in the period, oldest first
    has_goal: bool = True

    def step(self, state: str) -> Step:
        return next(s for s in self.steps if s.state == state)

    def to_dict(self) -> dict[str, Any]:
        return {
            "journey": self.journey_id,
            "name": self.name,
            "status": self.status,
            **self.outcomes.to_dict(self.has_goal),
            **steps_dict(self.steps),
            "versions": [v.to_dict() for v in self.versions],
        }


@dataclass(frozen=True, slots=True)
class JourneysReport:
    """Every published journey's results for one period (journeys by id)."""

    period: Period
    journeys: list[JourneyResult]

    def journey(self, journey_id: str) -> JourneyResult:
        return next(j for j in self.journeys if j.journey_id == journey_id)

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period.to_dict(), "journeys": [j.to_dict() for j in self.journeys]}


def steps_dict(steps: list[Step]) -> dict[str, Any]:
    """``steps`` (state, reached, share), ``end_states`` and ``ways_in`` (state → where
    its enrollments came from → how many, most first)."""
    return {
        "steps": [
            {"state": s.state, "reached": s.reached, "share": _round(s.share)} for s in steps
        ],
        "end_states": [s.state for s in steps if s.end],
        "ways_in": {
            s.state: dict(sorted(s.came_from.items(), key=lambda kv: (-kv[1], kv[0])))
            for s in steps
            if s.came_from
        },
    }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
