"""Journey results: who entered in a period, how far they got, and the holdout uplift.

Definitions, per journey and per version:

- **entered** (the cohort): enrollments whose ``entered_at`` is inside the period.
  Every other figure is about these enrollments, as of the period's end.
- **steps**: for each state in the order the journey file lists them, **reached** =
  cohort enrollments with a transition into that state inside the period (the start
  state's entry is one), and **share** = reached / entered. The engine's pseudo-states
  for the goal and the exits are not steps: they are ``converted`` and ``exited``.
  Steps are not a funnel: a state can be reached from several others (a click skips
  ahead to "interested"; either arm of a split), so **came from** (JSON ``ways_in``)
  gives, per state, the cohort enrollments that moved into it from each other state
  (``entry`` for the entry itself), and a state can count more than the one listed
  before it. **End states** (``end: true``) are flagged (JSON ``end_states``).
- **converted** / **completed** / **exited**: cohort enrollments with that status whose
  ``exited_at`` is before the period's end (goal reached; an end state reached, any of
  them, so ``completed`` is the sum of the end states' steps; an exit rule or a
  hand-off). **active**: the rest, still in the journey at the end, so
  entered = converted + completed + exited + active. (``automation journeys list``
  counts every enrollment ever, by status, with no period.)
- **has goal**: a version defines a ``goal`` (or someone converted). Without one,
  ``goal_rate``, the arms' rates and the uplift are ``None``: "no goal", not 0%.
- **goal rate**: converted / entered (``None`` when nobody entered or there is no goal).
- **uplift**: the goal rate of the treatment (``control`` false) minus that of the
  holdout (``control`` true: a split arm marked ``control``), each with its entered and
  converted counts; ``None`` when either group is empty (a journey without a holdout).
  **uplift_interval**: its 95% confidence interval, Newcombe's hybrid score interval
  from the two groups' Wilson intervals (``intervals.newcombe``: sound with small
  groups and rates near 0 or 1). **uplift_verdict** (``journeys_figures.Verdict``):
  ``too_small`` when either group has fewer than ``MIN_GROUP`` (30) entrants, else
  ``higher`` / ``lower`` when the whole interval is above / below 0, ``unclear`` when
  it holds 0; or ``no_goal``, ``no_holdout``, ``no_treated``.
- A journey's figures are the sums of its versions' (an enrollment belongs to one
  version); its steps follow the latest version's order, then states only older
  versions have.

Four grouped statements (the cohort by version and holdout, the steps by version and
state, the moves by version and pair of states, the journeys and versions named) and
no loop over enrollments in Python. The dataclasses are in ``journeys_figures``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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
from automation.reports.journeys_figures import (
    ENTRY,
    MIN_GROUP,
    Arm,
    JourneyResult,
    JourneysReport,
    Outcomes,
    Step,
    Verdict,
    VersionResult,
)
from automation.reports.period import Period

# Names importers know from this module, defined in ``journeys_figures``.
__all__ = [
    "ENTRY",
    "MIN_GROUP",
    "Arm",
    "JourneyResult",
    "JourneysReport",
    "Outcomes",
    "Step",
    "Verdict",
    "VersionResult",
    "journeys_report",
    "state_order",
]

ENROLLMENTS: Table = Enrollment.__table__  # type: ignore[attr-defined]
TRANSITIONS: Table = Transition.__table__  # type: ignore[attr-defined]
JOURNEYS: Table = Journey.__table__  # type: ignore[attr-defined]
VERSIONS: Table = JourneyVersion.__table__  # type: ignore[attr-defined]
N = ENROLLMENTS.c
T = TRANSITIONS.c
ENDED = (EnrollmentStatus.CONVERTED, EnrollmentStatus.COMPLETED, EnrollmentStatus.EXITED)


# --- computing it --------------------------------------------------------------------


def journeys_report(period: Period) -> JourneysReport:
    """The results of every journey for the cohort that entered in ``period``."""
    with get_engine().begin() as conn:
        cohort = conn.execute(cohort_query(period)).all()
        reached = conn.execute(steps_query(period)).all()
        moves = conn.execute(moves_query(period)).all()
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
    came: dict[int, dict[str, dict[str, int]]] = {}
    for row in moves:
        into = came.setdefault(row.version_id, {}).setdefault(row.to_state, {})
        into[row.from_state or ENTRY] = int(row.moved)
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
                _steps(v.states, v.ends, counts.get(v.id, {}), came.get(v.id, {}), outcomes[v.id]),
                v.goal or outcomes[v.id].converted > 0,
            )
            for v in mine
        ]
        total = sum((v.outcomes for v in per_version), Outcomes())
        latest = versions.get(j.latest_version_id)
        has_goal = (latest is not None and latest.goal) or any(v.has_goal for v in per_version)
        steps = _journey_steps(mine, latest, counts, came, total)
        results.append(
            JourneyResult(j.journey_id, j.name, j.status, total, steps, per_version, has_goal)
        )
    return JourneysReport(period, results)


def _journey_steps(
    mine: list[_Version],
    latest: _Version | None,
    counts: dict[int, dict[str, int]],
    came: dict[int, dict[str, dict[str, int]]],
    total: Outcomes,
) -> list[Step]:
    """A journey's steps: its versions' counts and moves summed, in the latest version's
    order, then states only older versions have; an end state in any version is one."""
    order = _merged_order([latest.states] if latest else [], (v.states for v in reversed(mine)))
    ends = {s for v in [*mine, *([latest] if latest else [])] for s in v.ends}
    summed: dict[str, int] = {}
    summed_came: dict[str, dict[str, int]] = {}
    for v in mine:
        for state, n in counts.get(v.id, {}).items():
            summed[state] = summed.get(state, 0) + n
        for state, sources in came.get(v.id, {}).items():
            into = summed_came.setdefault(state, {})
            for source, n in sources.items():
                into[source] = into.get(source, 0) + n
    return _steps(order, ends, summed, summed_came, total)


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


def moves_query(period: Period) -> Any:
    """Per version and pair of states: cohort enrollments that moved from one into the
    other in the period (``from_state`` NULL: the entry)."""
    return (
        select(
            N.version_id,
            T.from_state,
            T.to_state,
            func.count(func.distinct(T.enrollment_id)).label("moved"),
        )
        .select_from(ENROLLMENTS.join(TRANSITIONS, T.enrollment_id == N.id))
        .where(*_entered_in(period), T.at >= period.start_utc, T.at < period.end_utc)
        .group_by(N.version_id, T.from_state, T.to_state)
    )


def _entered_in(period: Period) -> list[Any]:
    return [N.entered_at >= period.start_utc, N.entered_at < period.end_utc]


@dataclass(frozen=True, slots=True)
class _Version:
    id: int
    journey_id: str
    version: int
    states: list[str]  # in the journey file's order
    ends: frozenset[str]  # the end states
    goal: bool  # the version defines a goal


def _versions(conn: Connection, ids: Iterable[int]) -> dict[int, _Version]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    v = VERSIONS.c
    rows = conn.execute(
        select(v.id, v.journey_id, v.version, v.spec, v.source).where(v.id.in_(wanted))
    ).all()
    return {
        r.id: _Version(
            r.id,
            r.journey_id,
            r.version,
            state_order(r.spec or {}, r.source or ""),
            _ends(r.spec or {}),
            bool((r.spec or {}).get("goal")),
        )
        for r in rows
    }


def _ends(spec: dict[str, Any]) -> frozenset[str]:
    states = spec.get("states") or {}
    return frozenset(
        str(name) for name, body in states.items() if isinstance(body, dict) and body.get("end")
    )


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


def _steps(
    states: list[str],
    ends: Iterable[str],
    reached: dict[str, int],
    came: dict[str, dict[str, int]],
    outcomes: Outcomes,
) -> list[Step]:
    entered, ends = outcomes.entered, set(ends)
    return [
        Step(
            s,
            reached.get(s, 0),
            reached.get(s, 0) / entered if entered else None,
            s in ends,
            dict(came.get(s, {})),
        )
        for s in states
    ]
