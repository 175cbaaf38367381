"""A period's web events cut into visits, by window functions in the database.

A visit is a person's web events with no gap longer than ``session_gap_minutes``
(definitions in ``weblog``'s docstring). ``visit_ctes`` reads the period's events once
for the visits (the group's filter part of that read), sorts them once by person and
time, and gives what every figure of the report is read from: the visits, one row
each, and the page views counted by what they show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Interval,
    Subquery,
    and_,
    case,
    collate,
    func,
    literal,
    or_,
    select,
    tuple_,
)

from automation.conditions import EVENTS
from automation.config import get_settings
from automation.reports.period import Period
from automation.reports.query import Query
from automation.reports.weblog_events import (
    PAGE_TYPES,
    PURCHASE,
    WEB_TYPES,
    in_period,
    of_group,
    period_params,
    prop,
)

PATH_LENGTH = 3  # pages of a visit kept for its main path
_VIEW_KEY = ("content", "product", "category")  # what the page views are counted by
E = EVENTS.c


@dataclass(frozen=True, slots=True)
class VisitCtes:
    """The period's visits (one row each) and its page views by what they show."""

    visits: CTE  # cid, vid, started_at, pages, logins, utm_source, banner, p1..p3, …
    viewed: FromClause  # content, product, category, n (page views, n > 0)


def gap_exceeded(later: Any, earlier: Any, dialect: str) -> ColumnElement[bool]:
    """``later - earlier`` is longer than the session gap (``session_gap_minutes``)."""
    gap = timedelta(minutes=get_settings().session_gap_minutes)
    if dialect == "postgresql":
        return (later - earlier) > literal(gap, Interval())  # type: ignore[no-any-return]
    # SQLite keeps times as text; julianday() is exact to the millisecond once rounded.
    elapsed_ms = func.round((func.julianday(later) - func.julianday(earlier)) * 86_400_000)
    return elapsed_ms > gap // timedelta(milliseconds=1)  # type: ignore[no-any-return]


def byte_wise(text: Any, dialect: str) -> Any:
    """Text compared byte-wise on PostgreSQL (``COLLATE "C"``), as is on SQLite.

    For keys that are only grouped or sorted on, or values only picked: equality is the
    same under any deterministic collation, and ``memcmp`` (with abbreviated keys in
    sorts) is cheaper than the ``strcoll`` of a database collation such as C.UTF-8.
    """
    return collate(text, "C") if dialect == "postgresql" else text


def visit_ctes(members: ColumnElement[bool] | None, dialect: str) -> VisitCtes:
    """The period's web events numbered into visits, then counted per visit and per view.

    Two passes of window functions over the events sorted once by person and time. The
    first (``_events``) finds each event's gap and counts the person's pages so far;
    the second numbers the visits (a running sum of "starts a visit") and places each
    page inside its visit (pages so far minus those before the visit began). Both
    passes have the same window, so the events are sorted once.

    The page views: for a group on PostgreSQL, one ``GROUPING SETS`` aggregation counts
    them with the visits, since reading the group's events again would cost as much
    as the first read (an index probe per customer, a heap fetch per event). Without
    a group (or on SQLite) they are read again on their own through the (type,
    occurred_at) index: measured over a million events, cheaper than the grouping
    sets, for which PostgreSQL then sorts the whole period by what the pages show.
    """
    numbered = _numbered(members, dialect).subquery("numbered")
    if dialect == "postgresql" and members is not None:
        return _grouped_together(numbered, dialect)
    t = numbered.c
    per_visit = select(*_visit_figures(t, dialect)).group_by(t.cid, t.vid, t.is_web, t.visit_no)
    return VisitCtes(_web_visits(per_visit.subquery("per_visit")), _viewed(members))


def _viewed(members: ColumnElement[bool] | None) -> Subquery:
    """The period's page views counted by (content, product, category), read alone."""
    key = (prop("content"), prop("product"), prop("category"))
    return (
        select(
            *(k.label(name) for k, name in zip(key, _VIEW_KEY, strict=True)),
            func.count().label("n"),
        )
        .where(*in_period(*PAGE_TYPES), *of_group(members))
        .group_by(*key)
        .subquery("viewed")
    )


def _events(members: ColumnElement[bool] | None, dialect: str) -> Subquery:
    """The one read of the events: web events and purchases, with the first windows.

    Purchases come with the web events so the arrivals need no second look-up; they
    are their own partition (``is_web`` 0), so they never make or break a visit. Per
    event: the previous event's time (``lag``) and the person's pages so far.
    """
    cid = byte_wise(E.customer_id, dialect)
    vid = byte_wise(case((E.customer_id.is_(None), E.visitor_id)), dialect)
    is_web = case((E.type == PURCHASE, 0), else_=1)
    is_page = case((E.type.in_(PAGE_TYPES), 1), else_=0)
    running: dict[str, Any] = {
        "partition_by": (cid, vid, is_web),
        "order_by": (E.occurred_at, E.id),
        "rows": (None, 0),
    }
    return (
        select(
            cid.label("cid"),
            vid.label("vid"),
            is_web.label("is_web"),
            E.id,
            E.occurred_at.label("at"),
            is_page.label("is_page"),
            case((E.type == "login", 1), else_=0).label("is_login"),
            case((E.type == "signup", E.occurred_at)).label("signed_up_at"),
            case((E.type == PURCHASE, E.occurred_at)).label("bought_at"),
            func.coalesce(prop("url"), prop("product"), prop("content")).label("page"),
            prop("utm_source").label("utm_source"),
            prop("banner").label("banner"),
            prop("content").label("content"),
            prop("product").label("product"),
            prop("category").label("category"),
            func.lag(E.occurred_at).over(**running).label("prev_at"),
            func.sum(is_page).over(**running).label("pages_so_far"),
        )
        .where(*in_period(*WEB_TYPES, PURCHASE), *of_group(members))
        .subquery("web")
    )


def _numbered(members: ColumnElement[bool] | None, dialect: str) -> Query:
    """One row per event, with its visit's number and its place among the pages."""
    w = _events(members, dialect).c
    running: dict[str, Any] = {
        "partition_by": (w.cid, w.vid, w.is_web),
        "order_by": (w.at, w.id),
        "rows": (None, 0),
    }
    starts = case((or_(w.prev_at.is_(None), gap_exceeded(w.at, w.prev_at, dialect)), 1), else_=0)
    before_visit = func.max(case((starts == 1, w.pages_so_far - w.is_page))).over(**running)
    return select(
        *(c for c in w if c.name not in ("id", "prev_at", "pages_so_far")),
        starts.label("starts"),
        func.sum(starts).over(**running).label("visit_no"),
        (w.pages_so_far - before_visit).label("page_no"),
    )


def _visit_figures(t: Any, dialect: str) -> list[Any]:
    """Per visit: person, start, pages, log-ins, arrival, first pages, sign-up, purchase.

    Each text is one value per visit, picked byte-wise (``byte_wise``).
    """

    def first(condition: Any, text: Any) -> Any:
        return func.max(case((condition, byte_wise(text, dialect))))

    return [
        t.cid,
        t.vid,
        t.is_web,
        func.min(t.at).label("started_at"),
        func.sum(t.is_page).label("pages"),
        func.sum(t.is_login).label("logins"),
        first(t.starts == 1, t.utm_source).label("utm_source"),
        first(t.starts == 1, t.banner).label("banner"),
        *(
            first(and_(t.is_page == 1, t.page_no == n), t.page).label(f"p{n}")
            for n in range(1, PATH_LENGTH + 1)
        ),
        func.max(t.signed_up_at).label("signed_up_at"),
        func.max(t.bought_at).label("bought_at"),
    ]


def _view_key(t: Any) -> tuple[Any, Any, Any]:
    return tuple(getattr(t, name) for name in _VIEW_KEY)  # type: ignore[return-value]


def _grouped_together(numbered: Subquery, dialect: str) -> VisitCtes:
    """Visits and page views from one ``GROUPING SETS`` pass (PostgreSQL).

    A row of the views' set has ``views_row`` 1 and counts its pages (``n``); a key
    seen only on log-ins, requests or purchases counts none and is left out.
    """
    t = numbered.c
    figures = _visit_figures(t, dialect)
    grouped = (
        select(
            *figures,
            *_view_key(t),
            func.sum(t.is_page).label("n"),
            func.grouping(t.cid).label("views_row"),
        )
        .group_by(
            func.grouping_sets(tuple_(t.cid, t.vid, t.is_web, t.visit_no), tuple_(*_view_key(t)))
        )
        .cte("grouped")
    )
    g = grouped.c
    per_visit = select(*(g[f.name] for f in figures)).where(g.views_row == 0)
    viewed = select(*_view_key(g), g.n).where(g.views_row == 1, g.n > 0)
    return VisitCtes(_web_visits(per_visit.subquery("per_visit")), viewed.subquery("viewed"))


def _web_visits(per_visit: Subquery) -> CTE:
    """The visits, each with its person's last sign-up and purchase in the period.

    Purchases are their own rows of ``per_visit`` (``is_web`` 0): they give their time
    to the person and are left out of the visits.
    """
    v = per_visit.c
    person: dict[str, Any] = {"partition_by": (v.cid, v.vid)}
    with_person = select(
        *(c for c in v if c.name not in ("signed_up_at", "bought_at")),
        func.max(v.signed_up_at).over(**person).label("signed_up_at"),
        func.max(v.bought_at).over(**person).label("bought_at"),
    ).subquery("with_person")
    w = with_person.c
    return select(*(c for c in w if c.name != "is_web")).where(w.is_web == 1).cte("visits")


def sessionized(period: Period, members: ColumnElement[bool] | None, dialect: str) -> Query:
    """One row per visit of ``period`` (see ``visit_ctes``), as a SELECT of its own."""
    visits = visit_ctes(members, dialect).visits
    return select(*visits.c).params(period_params(period))
