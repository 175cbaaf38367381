"""The conversion funnel (seed 000 §3.4): visitor → member → first policy → repeat.

Definitions:

- **cohort**: the people active in the period: a person (the customer when the event
  names one, else the visitor) with a web event (``weblog_events.WEB_TYPES``) or a
  ``policy_purchased`` / ``policy_renewed`` inside it.
- **reached**: cohort people on that rung or above at the end of the period. Every
  cohort person is a *visitor*; a *member* has a customer id and joined (``joined_at``)
  before the end; a *first policy* customer's ``first_policy_at`` (kept by the profile
  step and the importer) is before the end; a *repeat* customer renewed
  (``policy_renewed``) or took a second policy before the end: the second
  ``policy_purchased`` policy, or the first one when a policy was held already
  (``first_policy_at`` earlier than it, or a policy on file that no event bought:
  imported or seeded, taken to be older than the events).
- A time the records lack counts as "long ago": a customer without ``joined_at`` has
  always been a member, a ``customer``/``repeat`` stage without its time has always
  been one. The ladder only climbs, so each rung's time is at most the next one's,
  and only customers whose stage (kept by the profile step) is on a rung now can have
  reached it at any time: a member's stray ``first_policy_at`` is not a policy.
- **rate**: reached / the rung below's reached.
- **moved in**: customers (cohort or not) whose rung time falls inside the period: new
  members, new first-policy customers, new repeat customers.

Everything is one SQL statement: the cohort from the period's events through the
``(type, occurred_at)`` index, each customer's ladder times from ``customers`` and,
for repeat customers, the (rare) purchase and renewal events; nothing is looped over
in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from automation.conditions import CUSTOMERS, EVENTS, POLICIES
from automation.db import get_engine
from automation.db.types import UTCDateTime
from automation.models import LifecycleStage
from automation.reports.period import Period
from automation.reports.query import Query
from automation.reports.weblog_events import WEB_TYPES

RUNGS = ("visitor", "member", "first_policy", "repeat")
LADDER_TYPES = ("policy_purchased", "policy_renewed")
ACTIVE_TYPES = tuple(sorted({*WEB_TYPES, *LADDER_TYPES}))
LONG_AGO = datetime(1900, 1, 1, tzinfo=UTC)  # a rung reached before our records
E = EVENTS.c
C = CUSTOMERS.c
P = POLICIES.c


@dataclass(frozen=True, slots=True)
class Rung:
    """One rung of the ladder in the period."""

    name: str
    reached: int  # cohort people on this rung or above at the period's end
    rate: float | None  # reached / the rung below's reached (None: bottom rung, or 0 below)
    moved_in: int | None  # customers who stepped onto it inside the period (None: visitor)


@dataclass(frozen=True, slots=True)
class FunnelReport:
    """The funnel of one period."""

    period: Period
    rungs: tuple[Rung, ...]

    def rung(self, name: str) -> Rung:
        return next(r for r in self.rungs if r.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; rates rounded to 4 places."""
        return {
            "period": self.period.to_dict(),
            "rungs": [
                {
                    "rung": r.name,
                    "reached": r.reached,
                    "rate": None if r.rate is None else round(r.rate, 4),
                    "moved_in": r.moved_in,
                }
                for r in self.rungs
            ],
        }


def funnel_report(period: Period) -> FunnelReport:
    """The conversion funnel of ``period`` (definitions in the module docstring)."""
    with get_engine().begin() as conn:
        if conn.dialect.name == "postgresql":
            # Measured with bench/reports.py: compiling the plan (JIT) took longer than
            # running it (1M events: 0.18 s with, 0.09 s without), and the cohort's
            # grouping spilled to disk at the default 4 MB (3M events: 0.37 → 0.26 s).
            conn.exec_driver_sql("SET LOCAL jit = off")
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        row = conn.execute(funnel_query(period)).one()
    reached = [int(n or 0) for n in row[:4]]
    moved = [None, *(int(n or 0) for n in row[4:])]
    rungs = tuple(
        Rung(name, n, _rate(reached, i), moved[i])
        for i, (name, n) in enumerate(zip(RUNGS, reached, strict=True))
    )
    return FunnelReport(period, rungs)


def _rate(reached: list[int], i: int) -> float | None:
    if i == 0 or reached[i - 1] == 0:
        return None
    return reached[i] / reached[i - 1]


def funnel_query(period: Period) -> Query:
    """One row: reached per rung (4 columns), then moved in per rung above visitor (3)."""
    start, end = _at(period.start_utc), _at(period.end_utc)
    # The policy history is read once and shared by the cohort and the moves.
    history = _history().cte("history")
    people = _cohort(period).subquery("people")
    cid = people.c.cid
    cohort = (
        select(cid, *_rung_times(history))
        .select_from(
            # The history joins the customer row, not the person: the planner knows the
            # customer ids are unique, and so does not expect a join of millions of rows.
            people.outerjoin(CUSTOMERS, C.customer_id == cid).outerjoin(
                history, history.c.customer_id == C.customer_id
            )
        )
        .subquery("cohort")
    )
    c = cohort.c

    def tally(*reached: Any) -> Any:
        return func.sum(case((or_(*reached), 1), else_=0))

    # The ladder only climbs: a rung is reached by the end if it or any rung above is.
    # (Written as ORs, most rows are settled by their first test.)
    joined, first, again = c.joined < end, c.first < end, c.again < end
    reached = select(
        func.count().label("visitors"),
        tally(and_(c.cid.is_not(None), or_(joined, first, again))),
        tally(first, again),
        tally(again),
    ).subquery("reached")
    # Moves are counted over every customer, but only those with a rung time or a
    # ladder event in the period can have moved: the others are never computed.
    moving = (
        select(*_rung_times(history))
        .select_from(CUSTOMERS.outerjoin(history, history.c.customer_id == C.customer_id))
        .where(_may_have_moved(period))
        .subquery("moving")
    )

    def inside(at: Any) -> Any:
        return func.sum(case((and_(at >= start, at < end), 1), else_=0))

    moved = select(*(inside(at) for at in _climbed(moving))).subquery("moved")
    # Two one-row results side by side: a join on TRUE says the cross product is meant.
    return select(*reached.c, *moved.c).select_from(reached.join(moved, true()))


def _may_have_moved(period: Period) -> ColumnElement[bool]:
    """Customers whose join, first policy or a ladder event falls in the period."""
    laddered = select(E.customer_id).where(
        E.type.in_(LADDER_TYPES),
        E.occurred_at >= period.start_utc,
        E.occurred_at < period.end_utc,
    )
    start, end = period.start_utc, period.end_utc
    return or_(
        and_(C.joined_at >= start, C.joined_at < end),
        and_(C.first_policy_at >= start, C.first_policy_at < end),
        C.customer_id.in_(laddered),
    )


def _at(value: datetime) -> ColumnElement[datetime]:
    return literal(value, UTCDateTime())


def _cohort(period: Period) -> Query:
    """Distinct people with an active event in the period (one index range per type)."""
    active = (
        select(
            E.customer_id.label("cid"), case((E.customer_id.is_(None), E.visitor_id)).label("vid")
        )
        .where(
            E.type.in_(ACTIVE_TYPES),
            E.occurred_at >= period.start_utc,
            E.occurred_at < period.end_utc,
        )
        .subquery("active")
    )
    return select(active.c.cid, active.c.vid).group_by(active.c.cid, active.c.vid)


class _Earlier(ColumnElement[datetime]):
    """The earlier of two times, either of which may be NULL.

    PostgreSQL's ``LEAST`` skips NULLs; SQLite's two-argument ``min`` returns NULL if
    either is, so each side falls back on the other. A ``CASE`` would name each side
    three times, and nested rungs would multiply the expression.
    """

    inherit_cache = True
    type = UTCDateTime()
    _traverse_internals = [  # noqa: RUF012
        ("a", InternalTraversal.dp_clauseelement),
        ("b", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, a: ColumnElement[Any], b: ColumnElement[Any]) -> None:
        self.a, self.b = a, b


@compiles(_Earlier)
def _earlier_sqlite(element: _Earlier, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = element.a, element.b
    return compiler.process(func.min(func.coalesce(a, b), func.coalesce(b, a)), **kw)


@compiles(_Earlier, "postgresql")
def _earlier_pg(element: _Earlier, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(func.least(element.a, element.b), **kw)


def _earlier(a: Any, b: Any) -> ColumnElement[datetime]:
    return _Earlier(a, b)


def _history() -> Query:
    """Per repeat customer: policies on file, purchases (first, second, how many) and
    first renewal; one row each (``customer_id``).

    Only a repeat customer's history is ever looked at (see ``_rung_times``), so it is
    gathered for them alone, once: a few thousand rows, which the cohort's hundreds of
    thousands of people probe in one hash join. (Joining the purchases and renewals to
    every person one after the other, the planner mis-guessed their sizes, and over
    10M events once chose merge joins that sorted the whole cohort by customer id.)
    """
    bought, renewed = _purchases().subquery("bought"), _renewals().subquery("renewed")
    on_file = select(func.count()).where(P.customer_id == C.customer_id).scalar_subquery()
    return (
        select(
            C.customer_id,
            on_file.label("on_file"),
            bought.c.first_bought,
            bought.c.second_bought,
            bought.c.policies,
            renewed.c.at.label("renewed_at"),
        )
        .select_from(
            CUSTOMERS.outerjoin(bought, bought.c.customer_id == C.customer_id).outerjoin(
                renewed, renewed.c.customer_id == C.customer_id
            )
        )
        .where(C.lifecycle_stage == LifecycleStage.REPEAT.value)
    )


def _rung_times(history: Any) -> list[ColumnElement[Any]]:
    """``joined``, ``first`` (policy) and ``again`` (repeat) times of the customer row
    joined with its history, before the ladder is made to climb (see ``_climbed``).

    A rung's time exists only for a customer on that rung now: the ladder only climbs
    and the profile step keeps the stage. So one comparison of the stage settles most
    customers, and the history is looked at for repeat customers alone.
    """
    h = history.c
    stage = C.lifecycle_stage
    repeat = stage == LifecycleStage.REPEAT.value
    long_ago = _at(LONG_AGO)
    # A policy on file that no event bought (imported, seeded) is taken to be older than
    # the events: the first purchase was then a second policy.
    prior = h.on_file > h.policies
    bought_first = and_(
        prior, or_(C.first_policy_at.is_(None), C.first_policy_at >= h.first_bought)
    )
    first = case(
        (stage == LifecycleStage.CUSTOMER.value, func.coalesce(C.first_policy_at, long_ago)),
        (repeat, case((bought_first, long_ago), else_=func.coalesce(C.first_policy_at, long_ago))),
    )
    second_policy = case(
        (or_(prior, C.first_policy_at < h.first_bought), h.first_bought),
        else_=h.second_bought,
    )
    again = case((repeat, func.coalesce(_earlier(h.renewed_at, second_policy), long_ago)))
    return [
        func.coalesce(C.joined_at, long_ago).label("joined"),
        first.label("first"),
        again.label("again"),
    ]


def _climbed(times: Any) -> tuple[Any, Any, Any]:
    """Member, first-policy and repeat times: the ladder only climbs, so a rung is
    reached no later than any rung above it."""
    c = times.c
    first_at = _earlier(c.first, c.again)
    return _earlier(c.joined, first_at), first_at, c.again


def _purchases() -> Query:
    """Per purchasing customer: the first and second policy bought (``policy_purchased``)
    and how many."""
    raw = (
        select(
            E.customer_id,
            E.properties["policy_id"].as_string().label("policy_id"),
            E.occurred_at,
        )
        .where(E.type == "policy_purchased", E.customer_id.in_(_repeat_customers()))
        .subquery("purchases")
    )
    policy = (
        select(raw.c.customer_id, raw.c.policy_id, func.min(raw.c.occurred_at).label("at"))
        .group_by(raw.c.customer_id, raw.c.policy_id)
        .subquery("policy")
    )
    p = policy.c
    nth = func.row_number().over(partition_by=p.customer_id, order_by=(p.at, p.policy_id))
    ranked = select(p.customer_id, p.at, nth.label("nth")).subquery("ranked")
    k = ranked.c
    return select(
        k.customer_id,
        func.max(case((k.nth == 1, k.at))).label("first_bought"),
        func.max(case((k.nth == 2, k.at))).label("second_bought"),
        func.count().label("policies"),
    ).group_by(k.customer_id)


def _renewals() -> Query:
    return (
        select(E.customer_id, func.min(E.occurred_at).label("at"))
        .where(E.type == "policy_renewed", E.customer_id.is_not(None))
        .group_by(E.customer_id)
    )


def _repeat_customers() -> Query:
    """Only repeat customers' purchases matter (see ``_rung_times``); the others' are
    dropped before they are grouped and ranked."""
    return select(C.customer_id).where(C.lifecycle_stage == LifecycleStage.REPEAT.value)
