"""Web-log analytics as WebNibbler showed them (seed 000, figure 1 and table 2).

Definitions:

- **person**: the customer when the event names one, else the visitor (cookie). Ingest
  gives a visitor's earlier anonymous events to the customer on sign-up or log-in, so a
  person's history is one key.
- **web events**: what a person does on the site (``profile.ACTIVITY_TYPES``: page,
  product and content views, log-ins, sign-ups, quote and consultation requests).
  Scheduler, e-mail, SMS, call and policy events are not visits.
- **page view**: one ``page_view``, ``content_view`` or ``product_view`` event; the
  site sends one of them per page shown (a product page sends ``product_view``).
- **visit**: a person's web events with no gap longer than ``session_gap_minutes``
  (30): 29:59 after the last event is the same visit, 30:01 a new one. Only events
  inside the period count, so a visit crossing its start is counted from there.
- **first-time visitor**: a person with no web event before the period.
- **content / category / product preference**: page views naming ``content``;
  naming a ``category``, or a ``product`` whose catalogue category is used; naming a
  ``product``. Shares are of the page views that name one.
- **main path**: the first three pages (``url``, else the product or content) of a
  visit that shows at least one; shorter visits have shorter paths.
- **arrival**: a visit whose first event carries ``utm_source`` or ``banner``; its
  person *signed up* / *bought* if a ``signup`` / ``policy_purchased`` of theirs
  follows their first such arrival inside the period.
- **group**: customers matching a condition (``docs/conditions.md``, evaluated at the
  period's end or now, whichever is earlier), or a segment's members then (its
  ``segment_changes``, ``segment_groups``); without one, every person, anonymous too.
- **visits per week**: visits / (days / 7); per visitor: that / visitors.

The parts: ``weblog_events`` (which events count), ``weblog_visits`` (the events cut
into visits), ``weblog_queries`` (the figures' one SQL statement), ``weblog_figures``
(the report's dataclasses); this module runs the statement and assembles the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Dialect, func, select

from automation import clock
from automation.conditions import Condition, compile_condition
from automation.config import get_settings
from automation.db import get_engine
from automation.reports.period import Period
from automation.reports.query import Query
from automation.reports.segment_groups import in_segment, segment_names
from automation.reports.weblog_events import PAGE_TYPES, WEB_TYPES, period_params
from automation.reports.weblog_figures import Arrival, PathCount, Share, WeblogReport, ratio
from automation.reports.weblog_queries import TEXTS, TOTALS, Part, report_query
from automation.reports.weblog_visits import PATH_LENGTH, gap_exceeded, sessionized

# Names importers know from this module, defined in its parts.
__all__ = [
    "PAGE_TYPES",
    "PATH_LENGTH",
    "TOP",
    "WEB_TYPES",
    "Arrival",
    "Group",
    "PathCount",
    "Query",
    "Share",
    "WeblogReport",
    "gap_exceeded",
    "sessionized",
    "weblog_report",
]

TOP = 10
# As funnel_report: compiling the plan (JIT) costs more than running it, and the sort of
# a month's events by person spills to disk at the default 4 MB.
_PG_SETTINGS = select(
    func.set_config("jit", "off", True), func.set_config("work_mem", "64MB", True)
)
_STATEMENTS: dict[tuple[Any, ...], CompoundSelect] = {}  # see _statement
_MAX_STATEMENTS = 64

Group = Mapping[str, Any] | Condition | None


def weblog_report(
    period: Period, group: Group = None, *, top: int = TOP, segment: str | None = None
) -> WeblogReport:
    """The web-log figures of ``period``, for the customers ``group`` or ``segment``
    selects (or all).

    Parameters:
        period: the reporting window.
        group: a condition mapping (customer fields only), a compiled condition, or None.
        top: how many products and paths to list.
        segment: a published segment's id (instead of ``group``).

    Raises:
        ConditionError: the group condition is invalid or names ``event.*``.
        UnknownSegment: ``segment`` names no published segment.
        ValueError: both ``group`` and ``segment`` are given.
    """
    if segment is not None and group is not None:
        raise ValueError("a web-log report is for a group or a segment, not both")
    condition = _condition(group)
    as_of = min(clock.now(), period.end_utc)
    members = None if condition is None else condition.to_sql(as_of)
    if segment is not None:
        with get_engine().connect() as conn:
            segment_names(conn, segment)  # raises for an unknown one
        members = in_segment(segment, as_of)
    with get_engine().begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(_PG_SETTINGS)
        statement = _statement(members, conn.dialect)
        rows = conn.execute(statement, {**period_params(period), "top": top}).all()
    parts: dict[Part, list[Any]] = {part: [] for part in Part}
    for row in sorted(rows, key=lambda r: (r.part, r.rank)):
        parts[Part(row.part)].append(row)
    totals = dict(zip(TOTALS, (int(n or 0) for n in _numbers(parts[Part.TOTALS][0])), strict=True))
    return WeblogReport(
        period=period,
        group={"segment": segment} if segment is not None else _echo(group),
        group_customers=None if members is None else totals["group_customers"],
        page_views=totals["page_views"],
        visits=totals["visits"],
        visitors=totals["customers"] + totals["anonymous"],
        first_time_visitors=totals["new_customers"] + totals["new_anonymous"],
        logins=totals["logins"],
        logged_in_visitors=totals["logged_in_customers"] + totals["logged_in_anonymous"],
        content_preference=_shares(parts[Part.VIEWS], "content"),
        category_preference=_shares(parts[Part.VIEWS], "category"),
        product_preference=_shares(parts[Part.VIEWS], "product", top=top),
        main_paths=_path_counts(parts[Part.PATHS], totals["visits_with_pages"]),
        arrivals=[
            Arrival(r.t1, r.t2, *(int(n or 0) for n in _numbers(r)[:4]))
            for r in parts[Part.ARRIVALS]
        ],
    )


def _statement(members: ColumnElement[bool] | None, dialect: Dialect) -> CompoundSelect:
    """The report's statement for a group, built once: building it takes longer than
    running it over a small period. The period and ``top`` are its parameters; the key
    is what else shapes it: the dialect, the session gap, the group's SQL and values.
    """
    group_key = None
    if members is not None:
        compiled = members.compile(dialect=dialect)
        group_key = (compiled.string, repr(sorted(compiled.params.items())))
    key = (dialect.name, get_settings().session_gap_minutes, group_key)
    statement = _STATEMENTS.get(key)
    if statement is None:
        if len(_STATEMENTS) >= _MAX_STATEMENTS:
            _STATEMENTS.clear()
        statement = _STATEMENTS[key] = report_query(members, dialect.name)
    return statement


def _condition(group: Group) -> Condition | None:
    if group is None or isinstance(group, Condition):
        return group
    return compile_condition(dict(group), allow_event=False)


def _echo(group: Group) -> dict[str, Any] | str | None:
    """The group as the report shows it: JSON-ready (YAML may give dates)."""
    if isinstance(group, Condition):
        return repr(group)
    return None if group is None else json.loads(json.dumps(dict(group), default=str))


def _texts(row: Any) -> tuple[Any, ...]:
    return tuple(row[2 : 2 + TEXTS])


def _numbers(row: Any) -> tuple[Any, ...]:
    return tuple(row[2 + TEXTS :])


def _path_counts(rows: Sequence[Any], visits_with_pages: int) -> list[PathCount]:
    counted = [
        (tuple(p for p in _texts(r)[:PATH_LENGTH] if p is not None), int(_numbers(r)[0]))
        for r in rows
    ]
    return [PathCount(pages, n, ratio(n, visits_with_pages)) for pages, n in counted]


_VIEW_KEYS = {"content": 0, "product": 1, "category": 3}  # t1, t2, t4; t3 the product's name


def _shares(rows: Sequence[Any], key: str, top: int | None = None) -> list[Share]:
    counts: dict[str, int] = {}
    names: dict[str, str | None] = {}
    for row in rows:
        texts = _texts(row)
        value = texts[_VIEW_KEYS[key]]
        if value is not None:
            counts[value] = counts.get(value, 0) + int(_numbers(row)[0])
            names.setdefault(value, texts[2] if key == "product" else None)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [Share(k, n, ratio(n, total), names[k]) for k, n in ranked]
