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
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    Interval,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    collate,
    exists,
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

from automation import clock
from automation.conditions import CUSTOMERS, EVENTS, Condition, compile_condition
from automation.config import get_settings
from automation.customers.profile import ACTIVITY_TYPES
from automation.db import get_engine
from automation.db.types import UTCDateTime
from automation.models import Product
from automation.reports.period import Period

PAGE_TYPES = ("content_view", "page_view", "product_view")
WEB_TYPES = tuple(sorted(ACTIVITY_TYPES))
PATH_LENGTH = 3
TOP = 10
PRODUCTS: Table = Product.__table__  # type: ignore[attr-defined]
E = EVENTS.c

Group = Mapping[str, Any] | Condition | None
Query = Select[*tuple[Any, ...]]  # a SELECT of any columns


# --- the report ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Share:
    """One content tag, category or product and its share of the page views naming one."""

    key: str
    views: int
    share: float
    name: str | None = None  # the product's name from the catalogue


@dataclass(frozen=True, slots=True)
class PathCount:
    """The first pages of visits and how many visits began that way."""

    pages: tuple[str, ...]
    visits: int
    share: float  # of the visits that showed a page


@dataclass(frozen=True, slots=True)
class Arrival:
    """Visits that arrived with a ``utm_source`` / ``banner``, and what their people did."""

    utm_source: str | None
    banner: str | None
    visits: int
    visitors: int
    signed_up: int
    bought: int


@dataclass(frozen=True, slots=True)
class WeblogReport:
    """The figures of one period for everyone or for one group of customers."""

    period: Period
    group: dict[str, Any] | str | None
    group_customers: int | None  # customers matching the group (None: no group)
    page_views: int
    visits: int
    visitors: int
    first_time_visitors: int
    logins: int
    logged_in_visitors: int
    content_preference: list[Share] = field(default_factory=list)
    category_preference: list[Share] = field(default_factory=list)
    product_preference: list[Share] = field(default_factory=list)
    main_paths: list[PathCount] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)

    @property
    def logins_per_visitor(self) -> float:
        return _ratio(self.logins, self.visitors)

    @property
    def page_views_per_visitor(self) -> float:
        return _ratio(self.page_views, self.visitors)

    @property
    def visits_per_week(self) -> float:
        return self.visits / self.period.weeks

    @property
    def visits_per_week_per_visitor(self) -> float:
        return _ratio(self.visits, self.visitors) / self.period.weeks

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ratios rounded to 4 places."""
        return {
            "period": self.period.to_dict(),
            "group": self.group,
            "group_customers": self.group_customers,
            "page_views": self.page_views,
            "visits": self.visits,
            "visitors": self.visitors,
            "first_time_visitors": self.first_time_visitors,
            "logins": self.logins,
            "logged_in_visitors": self.logged_in_visitors,
            "logins_per_visitor": round(self.logins_per_visitor, 4),
            "page_views_per_visitor": round(self.page_views_per_visitor, 4),
            "visits_per_week": round(self.visits_per_week, 4),
            "visits_per_week_per_visitor": round(self.visits_per_week_per_visitor, 4),
            "content_preference": [_rounded(asdict(s)) for s in self.content_preference],
            "category_preference": [_rounded(asdict(s)) for s in self.category_preference],
            "product_preference": [_rounded(asdict(s)) for s in self.product_preference],
            "main_paths": [
                {"pages": list(p.pages), "visits": p.visits, "share": round(p.share, 4)}
                for p in self.main_paths
            ],
            "arrivals": [asdict(a) for a in self.arrivals],
        }


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


# --- computing it --------------------------------------------------------------------


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
        visits = _materialise_visits(conn, period, members)
        try:
            totals = conn.execute(_totals(visits)).one()
            first_time = conn.execute(_first_time(visits, period)).one()
            paths = conn.execute(_paths(visits, top, conn.dialect.name)).all()
            arrivals = conn.execute(_arrivals(visits, period, conn.dialect.name)).all()
        finally:
            visits.drop(conn)
        views = conn.execute(_viewed(period, members)).all()
        customers = None if members is None else conn.execute(_group_size(members)).scalar_one()
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


def _prop(key: str) -> ColumnElement[str]:
    return E.properties[key].as_string()  # type: ignore[no-any-return]


def _in_period(period: Period, *types: str) -> list[ColumnElement[bool]]:
    """Events of ``types`` inside the period: the (type, occurred_at) index's range."""
    return [E.type.in_(types), E.occurred_at >= period.start_utc, E.occurred_at < period.end_utc]


def _of_group(members: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    if members is None:
        return []
    return [E.customer_id.in_(select(CUSTOMERS.c.customer_id).where(members))]


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
            func.coalesce(_prop("url"), _prop("product"), _prop("content")).label("page"),
            _prop("utm_source").label("utm_source"),
            _prop("banner").label("banner"),
            func.lag(E.occurred_at).over(**by_person).label("prev_at"),
            func.sum(is_page).over(**by_person).label("pages_so_far"),
        )
        .where(*_in_period(period, *WEB_TYPES), *_of_group(members))
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


def _materialise_visits(
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


def _totals(visits: Table) -> Query:
    v = visits.c
    logged_in = v.logins > 0
    return select(
        func.count().label("visits"),
        func.sum(v.pages).label("page_views"),
        func.sum(v.logins).label("logins"),
        func.count(func.distinct(v.cid)).label("customers"),
        func.count(func.distinct(v.vid)).label("anonymous"),
        func.count(func.distinct(case((logged_in, v.cid)))).label("logged_in_customers"),
        func.count(func.distinct(case((logged_in, v.vid)))).label("logged_in_anonymous"),
        func.sum(case((v.pages > 0, 1), else_=0)).label("visits_with_pages"),
    )


def _first_time(visits: Table, period: Period) -> Query:
    """(customers, anonymous visitors) of the period with no web event before it."""
    v = visits.c
    earlier = [E.type.in_(WEB_TYPES), E.occurred_at < period.start_utc]
    customers = select(v.cid).where(v.cid.is_not(None)).distinct().subquery()
    anonymous = select(v.vid).where(v.vid.is_not(None)).distinct().subquery()
    new_customers = (
        select(func.count())
        .select_from(customers)
        .where(~exists().where(E.customer_id == customers.c.cid, *earlier))
    )
    new_anonymous = (
        select(func.count())
        .select_from(anonymous)
        .where(~exists().where(E.customer_id.is_(None), E.visitor_id == anonymous.c.vid, *earlier))
    )
    return select(new_customers.scalar_subquery(), new_anonymous.scalar_subquery())


def _paths(visits: Table, top: int, dialect: str) -> Query:
    v = visits.c
    n = func.count().label("n")
    pages = (v.p1, v.p2, v.p3)
    return (
        select(*pages, n)
        .where(v.pages > 0)
        .group_by(*pages)
        .order_by(n.desc(), *(_code_point(func.coalesce(p, ""), dialect) for p in pages))
        .limit(top)
    )


def _code_point(expr: Any, dialect: str) -> Any:
    """Text ordered as Python orders it, so ties break alike on both databases."""
    return collate(expr, "C") if dialect == "postgresql" else expr


def _path_counts(rows: Sequence[Any], visits_with_pages: int) -> list[PathCount]:
    counted = [(tuple(p for p in r[:PATH_LENGTH] if p is not None), int(r[-1])) for r in rows]
    return [PathCount(pages, n, _ratio(n, visits_with_pages)) for pages, n in counted]


def _arrivals(visits: Table, period: Period, dialect: str) -> Query:
    """Per (utm_source, banner): visits, people, and how many of them signed up / bought.

    Sign-ups and purchases in the period are few: they are read once through the
    (type, occurred_at) index and joined, rather than looked up per person.
    """
    v = visits.c
    people = (
        select(
            v.utm_source,
            v.banner,
            v.cid,
            v.vid,
            func.min(v.started_at).label("first_at"),
            func.count().label("visits"),
        )
        .where(or_(v.utm_source.is_not(None), v.banner.is_not(None)))
        .group_by(v.utm_source, v.banner, v.cid, v.vid)
        .subquery("arrived")
    )
    a = people.c
    moves = (
        select(E.customer_id, E.type, E.occurred_at)
        .where(*_in_period(period, "signup", "policy_purchased"))
        .subquery("moves")
    )
    m = moves.c

    def after_arrival(event_type: str) -> Any:
        return func.max(case((and_(m.type == event_type, m.occurred_at >= a.first_at), 1), else_=0))

    person = (
        select(
            a.utm_source,
            a.banner,
            a.visits,
            after_arrival("signup").label("signed_up"),
            after_arrival("policy_purchased").label("bought"),
        )
        .select_from(people.outerjoin(moves, m.customer_id == a.cid))
        .group_by(a.utm_source, a.banner, a.cid, a.vid, a.visits)
        .subquery("became")
    )
    p = person.c
    visit_count = func.sum(p.visits)
    order = (_code_point(func.coalesce(k, ""), dialect) for k in (p.utm_source, p.banner))
    return (
        select(
            p.utm_source,
            p.banner,
            visit_count,
            func.count(),
            func.sum(p.signed_up),
            func.sum(p.bought),
        )
        .group_by(p.utm_source, p.banner)
        .order_by(visit_count.desc(), *order)
    )


def _viewed(period: Period, members: ColumnElement[bool] | None) -> Query:
    """Page views by (content, product, product name, category): a few hundred rows."""
    product = _prop("product")
    named = (
        select(
            _prop("content").label("content"),
            product.label("product"),
            PRODUCTS.c.name.label("name"),
            func.coalesce(_prop("category"), PRODUCTS.c.category).label("category"),
        )
        .select_from(EVENTS.outerjoin(PRODUCTS, PRODUCTS.c.product_code == product))
        .where(*_in_period(period, *PAGE_TYPES), *_of_group(members))
        .subquery("viewed")
    )
    c = named.c
    return select(c.content, c.product, c.name, c.category, func.count()).group_by(
        c.content, c.product, c.name, c.category
    )


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
    return [Share(k, n, _ratio(n, total), names[k]) for k, n in ranked]


def _group_size(members: ColumnElement[bool]) -> Query:
    return select(func.count()).select_from(CUSTOMERS).where(members)
