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
  period's end or now, whichever is earlier); without one, every person, anonymous too.
- **visits per week**: visits / (days / 7); per visitor: that / visitors.

The parts: ``weblog_events`` (which events count), ``weblog_visits`` (the events cut
into visits), ``weblog_queries`` (the figures' SQL), ``weblog_figures`` (the report's
dataclasses); this module runs the queries and assembles the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from automation import clock
from automation.conditions import Condition, compile_condition
from automation.db import get_engine
from automation.reports.period import Period
from automation.reports.query import Query
from automation.reports.weblog_events import PAGE_TYPES, WEB_TYPES
from automation.reports.weblog_figures import Arrival, PathCount, Share, WeblogReport, ratio
from automation.reports.weblog_queries import (
    arrivals_query,
    first_time_query,
    group_size_query,
    paths_query,
    totals_query,
    viewed_query,
)
from automation.reports.weblog_visits import (
    PATH_LENGTH,
    gap_exceeded,
    materialise_visits,
    sessionized,
)

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

Group = Mapping[str, Any] | Condition | None


def weblog_report(period: Period, group: Group = None, *, top: int = TOP) -> WeblogReport:
    """The web-log figures of ``period``, for the customers ``group`` selects (or all).

    Parameters:
        period: the reporting window.
        group: a condition mapping (customer fields only), a compiled condition, or None.
        top: how many products and paths to list.

    Raises:
        ConditionError: the group condition is invalid or names ``event.*``.
    """
    condition = _condition(group)
    as_of = min(clock.now(), period.end_utc)
    members = None if condition is None else condition.to_sql(as_of)
    engine = get_engine()
    with engine.begin() as conn:
        visits = materialise_visits(conn, period, members)
        try:
            totals = conn.execute(totals_query(visits)).one()
            first_time = conn.execute(first_time_query(visits, period)).one()
            paths = conn.execute(paths_query(visits, top, conn.dialect.name)).all()
            arrivals = conn.execute(arrivals_query(visits, period, conn.dialect.name)).all()
        finally:
            visits.drop(conn)
        views = conn.execute(viewed_query(period, members)).all()
        customers = (
            None if members is None else conn.execute(group_size_query(members)).scalar_one()
        )
    return WeblogReport(
        period=period,
        group=_echo(group),
        group_customers=customers,
        page_views=int(totals.page_views or 0),
        visits=int(totals.visits),
        visitors=int(totals.customers) + int(totals.anonymous),
        first_time_visitors=int(first_time[0] or 0) + int(first_time[1] or 0),
        logins=int(totals.logins or 0),
        logged_in_visitors=int(totals.logged_in_customers) + int(totals.logged_in_anonymous),
        content_preference=_shares(views, "content"),
        category_preference=_shares(views, "category"),
        product_preference=_shares(views, "product", top=top),
        main_paths=_path_counts(paths, int(totals.visits_with_pages or 0)),
        arrivals=[Arrival(*row[:2], *(int(n or 0) for n in row[2:])) for row in arrivals],
    )


def _condition(group: Group) -> Condition | None:
    if group is None or isinstance(group, Condition):
        return group
    return compile_condition(dict(group), allow_event=False)


def _echo(group: Group) -> dict[str, Any] | str | None:
    """The group as the report shows it: JSON-ready (YAML may give dates)."""
    if isinstance(group, Condition):
        return repr(group)
    return None if group is None else json.loads(json.dumps(dict(group), default=str))


def _path_counts(rows: Sequence[Any], visits_with_pages: int) -> list[PathCount]:
    counted = [(tuple(p for p in r[:PATH_LENGTH] if p is not None), int(r[-1])) for r in rows]
    return [PathCount(pages, n, ratio(n, visits_with_pages)) for pages, n in counted]


def _shares(rows: Sequence[Any], key: str, top: int | None = None) -> list[Share]:
    counts: dict[str, int] = {}
    names: dict[str, str | None] = {}
    for row in rows:
        value = getattr(row, key)
        if value is not None:
            counts[value] = counts.get(value, 0) + int(row[-1])
            names.setdefault(value, row.name if key == "product" else None)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [Share(k, n, ratio(n, total), names[k]) for k, n in ranked]
