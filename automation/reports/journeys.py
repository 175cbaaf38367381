"""Journey results: who entered in a period, how far they got, and the holdout uplift.

Definitions, per journey and per version:

- **entered** (the cohort): enrollments whose ``entered_at`` is inside the period.
  Every other figure is about these enrollments, as of the period's end.
- **steps**: for each state in the order the journey file lists them, **reached** =
  cohort enrollments with a transition into that state inside the period (the start
  state's entry is one), and **share** = reached / entered. The engine's pseudo-states
  for the goal and the exits are not steps: they are ``converted`` and ``exited``.
- **converted** / **completed** / **exited**: cohort enrollments with that status whose
  ``exited_at`` is before the period's end (goal reached; an end state reached; an
  exit rule or a hand-off). **active**: the rest, still in the journey at the end, so
  entered = converted + completed + exited + active.
- **goal rate**: converted / entered (``None`` when nobody entered).
- **uplift**: the goal rate of the treatment (``control`` false) minus that of the
  holdout (``control`` true: a split arm marked ``control``), each with its entered and
  converted counts; ``None`` when either group is empty (a journey without a holdout).
- A journey's figures are the sums of its versions' (an enrollment belongs to one
  version); its steps follow the latest version's order, then states only older
  versions have.

Three grouped statements (the cohort by version and holdout, the steps by version and
state, the journeys and versions named) and no loop over enrollments in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, and_, case, func, select
from sqlalchemy.engine import Connection

from automation.db import get_engine
from automation.errors import ValidationError
from automation.journeys import yamlmap
from automation.journeys.spec import from_stored
from automation.models import (
    Enrollment,
    EnrollmentStatus,
    Journey,
    JourneyVersion,
    Transition,
)
from automation.reports.period import Period

ENROLLMENTS: Table = Enrollment.__table__  # type: ignore[attr-defined]
TRANSITIONS: Table = Transition.__table__  # type: ignore[attr-defined]
JOURNEYS: Table = Journey.__table__  # type: ignore[attr-defined]
VERSIONS: Table = JourneyVersion.__table__  # type: ignore[attr-defined]
N = ENROLLMENTS.c
T = TRANSITIONS.c
ENDED = (EnrollmentStatus.CONVERTED, EnrollmentStatus.COMPLETED, EnrollmentStatus.EXITED)


# --- the report ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """A state of the journey and how many of the cohort reached it."""

    state: str
    reached: int
    share: float | None  # of the entered (None: nobody entered)


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

    def to_dict(self) -> dict[str, Any]:
        return {"entered": self.entered, "converted": self.converted, "rate": _round(self.rate)}


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

    def __add__(self, other: Outcomes) -> Outcomes:
        return Outcomes(
            self.treatment + other.treatment,
            self.control + other.control,
            self.completed + other.completed,
            self.exited + other.exited,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "entered": self.entered,
            "converted": self.converted,
            "completed": self.completed,
            "exited": self.exited,
            "active": self.active,
            "goal_rate": _round(self.goal_rate),
            "uplift": {
                "treatment": self.treatment.to_dict(),
                "control": self.control.to_dict(),
                "uplift": _round(self.uplift),
            },
        }


@dataclass(frozen=True, slots=True)
class VersionResult:
    version: int
    version_id: int
    outcomes: Outcomes
    steps: list[Step]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "version_id": self.version_id,
            **self.outcomes.to_dict(),
            "steps": [_step_dict(s) for s in self.steps],
        }


@dataclass(frozen=True, slots=True)
class JourneyResult:
    journey_id: str
    name: str
    status: str
    outcomes: Outcomes
    steps: list[Step]
    versions: list[VersionResult]  # those with entrants in the period, oldest first

    def step(self, state: str) -> Step:
        return next(s for s in self.steps if s.state == state)

    def to_dict(self) -> dict[str, Any]:
        return {
            "journey": self.journey_id,
            "name": self.name,
            "status": self.status,
            **self.outcomes.to_dict(),
            "steps": [_step_dict(s) for s in self.steps],
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


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _step_dict(step: Step) -> dict[str, Any]:
    return {"state": step.state, "reached": step.reached, "share": _round(step.share)}


# --- computing it --------------------------------------------------------------------


def journeys_report(period: Period) -> JourneysReport:
    """The results of every journey for the cohort that entered in ``period``."""
    with get_engine().begin() as conn:
        cohort = conn.execute(cohort_query(period)).all()
        reached = conn.execute(steps_query(period)).all()
        journeys = conn.execute(
            select(JOURNEYS.c.journey_id, JOURNEYS.c.name, JOURNEYS.c.status)
            .add_columns(JOURNEYS.c.latest_version_id)
            .order_by(JOURNEYS.c.journey_id)
        ).all()
        wanted = {r.version_id for r in cohort} | {
            j.latest_version_id for j in journeys if j.latest_version_id is not None
        }
        versions = _versions(conn, wanted)
    outcomes: dict[int, Outcomes] = {}
    for row in cohort:
        arm = Arm(int(row.entered), int(row.converted or 0))
        part = Outcomes(
            control=arm if row.control else Arm(),
            treatment=Arm() if row.control else arm,
            completed=int(row.completed or 0),
            exited=int(row.exited or 0),
        )
        outcomes[row.version_id] = outcomes.get(row.version_id, Outcomes()) + part
    counts: dict[int, dict[str, int]] = {}
    for row in reached:
        counts.setdefault(row.version_id, {})[row.to_state] = int(row.reached)
    results = []
    for j in journeys:
        mine = sorted(
            (v for v in versions.values() if v.journey_id == j.journey_id and v.id in outcomes),
            key=lambda v: v.version,
        )
        per_version = [
            VersionResult(
                v.version,
                v.id,
                outcomes[v.id],
                _steps(v.states, counts.get(v.id, {}), outcomes[v.id].entered),
            )
            for v in mine
        ]
        total = sum((v.outcomes for v in per_version), Outcomes())
        latest = versions.get(j.latest_version_id)
        order = _merged_order([latest.states] if latest else [], (v.states for v in reversed(mine)))
        summed: dict[str, int] = {}
        for v in mine:
            for state, n in counts.get(v.id, {}).items():
                summed[state] = summed.get(state, 0) + n
        results.append(
            JourneyResult(
                j.journey_id,
                j.name,
                j.status,
                total,
                _steps(order, summed, total.entered),
                per_version,
            )
        )
    return JourneysReport(period, results)


def cohort_query(period: Period) -> Any:
    """Per version and holdout flag: entered, and converted / completed / exited by the end."""
    end = period.end_utc

    def ended(status: EnrollmentStatus) -> Any:
        return func.sum(case((and_(N.status == status.value, N.exited_at < end), 1), else_=0))

    return (
        select(
            N.version_id,
            N.control,
            func.count().label("entered"),
            *(ended(s).label(s.value) for s in ENDED),
        )
        .where(*_entered_in(period))
        .group_by(N.version_id, N.control)
    )


def steps_query(period: Period) -> Any:
    """Per version and state: cohort enrollments with a transition into it in the period."""
    return (
        select(
            N.version_id,
            T.to_state,
            func.count(func.distinct(T.enrollment_id)).label("reached"),
        )
        .select_from(ENROLLMENTS.join(TRANSITIONS, T.enrollment_id == N.id))
        .where(*_entered_in(period), T.at >= period.start_utc, T.at < period.end_utc)
        .group_by(N.version_id, T.to_state)
    )


def _entered_in(period: Period) -> list[Any]:
    return [N.entered_at >= period.start_utc, N.entered_at < period.end_utc]


@dataclass(frozen=True, slots=True)
class _Version:
    id: int
    journey_id: str
    version: int
    states: list[str]  # in the journey file's order


def _versions(conn: Connection, ids: Iterable[int]) -> dict[int, _Version]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    v = VERSIONS.c
    rows = conn.execute(
        select(v.id, v.journey_id, v.version, v.spec, v.source).where(v.id.in_(wanted))
    ).all()
    return {
        r.id: _Version(r.id, r.journey_id, r.version, state_order(r.spec or {}, r.source or ""))
        for r in rows
    }


def state_order(spec: dict[str, Any], source: str = "") -> list[str]:
    """A version's states in the order its file lists them.

    PostgreSQL's ``jsonb`` keeps object keys sorted its own way, so the stored spec
    has lost the order: it is read again from the YAML source kept with the version.
    Without a usable source, the states in the order the flow reaches them from the
    start (then any it cannot reach), end states last; failing that, as stored.
    """
    stored = [str(s) for s in (spec.get("states") or {})]
    try:
        data, _lines = yamlmap.load(source) if source else (None, {})
    except yamlmap.YamlError:
        data = None
    listed = data.get("states") if isinstance(data, dict) else None
    if isinstance(listed, dict) and set(map(str, listed)) == set(stored):
        return [str(s) for s in listed]
    try:
        parsed = from_stored(spec)
    except ValidationError:
        return stored
    seen: list[str] = []
    queue = [parsed.start]
    while queue:
        name = queue.pop(0)
        if name in seen or name not in parsed.states:
            continue
        seen.append(name)
        queue.extend(parsed.states[name].targets())
    seen += sorted(set(stored) - set(seen))
    # End states last: breadth first reaches an early exit's end before the main path.
    return [s for s in seen if not parsed.states[s].end] + [s for s in seen if parsed.states[s].end]


def _merged_order(first: list[list[str]], rest: Iterable[list[str]]) -> list[str]:
    order: list[str] = []
    for states in [*first, *rest]:
        order.extend(s for s in states if s not in order)
    return order


def _steps(states: list[str], reached: dict[str, int], entered: int) -> list[Step]:
    return [Step(s, reached.get(s, 0), _rate(reached.get(s, 0), entered)) for s in states]
