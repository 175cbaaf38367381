"""A period's web events cut into visits, by window functions in the database.

A visit is a person's web events with no gap longer than ``session_gap_minutes``
(definitions in ``weblog``'s docstring). ``materialise_visits`` keeps one row per
visit in a temporary table that every figure of the report is read from.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    Interval,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from automation.conditions import EVENTS
from automation.config import get_settings
from automation.db.types import UTCDateTime
from automation.reports.period import Period
from automation.reports.query import Query
from automation.reports.weblog_events import PAGE_TYPES, WEB_TYPES, in_period, of_group, prop

PATH_LENGTH = 3  # pages of a visit kept for its main path
E = EVENTS.c


def gap_exceeded(later: Any, earlier: Any, dialect: str) -> ColumnElement[bool]:
    """``later - earlier`` is longer than the session gap (``session_gap_minutes``)."""
    gap = timedelta(minutes=get_settings().session_gap_minutes)
    if dialect == "postgresql":
        return (later - earlier) > literal(gap, Interval())  # type: ignore[no-any-return]
    # SQLite keeps times as text; julianday() is exact to the millisecond once rounded.
    elapsed_ms = func.round((func.julianday(later) - func.julianday(earlier)) * 86_400_000)
    return elapsed_ms > gap // timedelta(milliseconds=1)  # type: ignore[no-any-return]


def sessionized(period: Period, members: ColumnElement[bool] | None, dialect: str) -> Query:
    """One row per visit: person, visit number, start, pages, log-ins, arrival, first pages.

    Window functions do the work in the database, in two passes over the events sorted
    once by person and time. The first finds each event's gap (``lag``) and counts the
    person's pages so far; the second numbers the visits (a running sum of "starts a
    visit") and places each page inside its visit (pages so far minus those before the
    visit began). Every window has the same definition, so each pass is one scan.
    """
    is_page = case((E.type.in_(PAGE_TYPES), 1), else_=0)
    cid = E.customer_id
    vid = case((cid.is_(None), E.visitor_id))
    by_person: dict[str, Any] = {
        "partition_by": (cid, vid),
        "order_by": (E.occurred_at, E.id),
        "rows": (None, 0),
    }
    first = (
        select(
            cid.label("cid"),
            vid.label("vid"),
            E.id,
            E.occurred_at.label("at"),
            is_page.label("is_page"),
            case((E.type == "login", 1), else_=0).label("is_login"),
            func.coalesce(prop("url"), prop("product"), prop("content")).label("page"),
            prop("utm_source").label("utm_source"),
            prop("banner").label("banner"),
            func.lag(E.occurred_at).over(**by_person).label("prev_at"),
            func.sum(is_page).over(**by_person).label("pages_so_far"),
        )
        .where(*in_period(period, *WEB_TYPES), *of_group(members))
        .subquery("web")
    )
    w = first.c
    by_person = {"partition_by": (w.cid, w.vid), "order_by": (w.at, w.id), "rows": (None, 0)}
    starts = case((or_(w.prev_at.is_(None), gap_exceeded(w.at, w.prev_at, dialect)), 1), else_=0)
    before_visit = func.max(case((starts == 1, w.pages_so_far - w.is_page))).over(**by_person)
    second = select(
        *w,
        starts.label("starts"),
        func.sum(starts).over(**by_person).label("visit_no"),
        (w.pages_so_far - before_visit).label("page_no"),
    ).subquery("numbered")
    t = second.c

    def page(n: int) -> Any:
        return func.max(case((and_(t.is_page == 1, t.page_no == n), t.page))).label(f"p{n}")

    return select(
        t.cid,
        t.vid,
        t.visit_no,
        func.min(t.at).label("started_at"),
        func.sum(t.is_page).label("pages"),
        func.sum(t.is_login).label("logins"),
        func.max(case((t.starts == 1, t.utm_source))).label("utm_source"),
        func.max(case((t.starts == 1, t.banner))).label("banner"),
        *(page(n) for n in range(1, PATH_LENGTH + 1)),
    ).group_by(t.cid, t.vid, t.visit_no)


class _CreateTemporaryAs(Executable, ClauseElement):
    """``CREATE TEMPORARY TABLE name AS <query>``: unlike ``INSERT … SELECT``,
    PostgreSQL may run the query in parallel workers."""

    inherit_cache = False

    def __init__(self, name: str, query: Query) -> None:
        self.name, self.query = name, query


@compiles(_CreateTemporaryAs)
def _create_temporary_as(element: _CreateTemporaryAs, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CREATE TEMPORARY TABLE {element.name} AS {compiler.process(element.query, **kw)}"


@compiles(_CreateTemporaryAs, "postgresql")
def _create_temporary_as_pg(element: _CreateTemporaryAs, compiler: SQLCompiler, **kw: Any) -> str:
    query = compiler.process(element.query, **kw)
    return f"CREATE TEMPORARY TABLE {element.name} ON COMMIT DROP AS {query}"


def materialise_visits(
    conn: Connection, period: Period, members: ColumnElement[bool] | None
) -> Table:
    """The period's visits in a temporary table, so the window pass runs once."""
    table = Table(
        "report_visits",
        MetaData(),
        Column("cid", String),
        Column("vid", String),
        Column("visit_no", BigInteger),
        Column("started_at", UTCDateTime()),
        Column("pages", Integer),
        Column("logins", Integer),
        Column("utm_source", String),
        Column("banner", String),
        *(Column(f"p{n}", String) for n in range(1, PATH_LENGTH + 1)),
    )
    conn.execute(_CreateTemporaryAs(table.name, sessionized(period, members, conn.dialect.name)))
    return table
