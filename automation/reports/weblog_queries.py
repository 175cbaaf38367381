"""The web-log report's one statement: every figure, from one read of the events.

``report_query`` is a ``UNION ALL`` of the report's parts over the visits of
``weblog_visits``; each row is ``part, rank, t1..t4, n1..n11`` (texts and counts, the
unused ones NULL), so the report is one round trip. The period and ``top`` are bind
parameters (``period_params``, ``PATHS_LISTED``): one statement serves every period.
``weblog.weblog_report`` runs it and assembles the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    CompoundSelect,
    FromClause,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    collate,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)

from automation.conditions import CUSTOMERS, EVENTS
from automation.models import Product
from automation.reports.query import Query
from automation.reports.weblog_events import PERIOD_START, WEB_TYPES
from automation.reports.weblog_visits import PATH_LENGTH, visit_ctes

PRODUCTS: Table = Product.__table__  # type: ignore[attr-defined]
E = EVENTS.c
TEXTS = 4  # t1..t4
NUMBERS = 11  # n1..n11
PATHS_LISTED: BindParameter[int] = bindparam("top", type_=Integer())  # main paths shown


class Part(IntEnum):
    """What a row of ``report_query`` holds."""

    TOTALS = 0  # one row: n1..n11 as ``TOTALS`` names them
    PATHS = 1  # t1..t3 the first pages, n1 visits; the ``top`` first
    ARRIVALS = 2  # t1 utm_source, t2 banner; n1 visits, n2 people, n3 signed up, n4 bought
    VIEWS = 3  # t1 content, t2 product, t3 product name, t4 category; n1 page views


TOTALS = (
    "visits",
    "page_views",
    "logins",
    "visits_with_pages",
    "customers",
    "anonymous",
    "logged_in_customers",
    "logged_in_anonymous",
    "new_customers",
    "new_anonymous",
    "group_customers",
)


def report_query(members: ColumnElement[bool] | None, dialect: str) -> CompoundSelect:
    """Every figure of the report (the group's when ``members`` is given), as rows.

    Its parameters: ``period_params(period)`` and ``top`` (how many paths).
    """
    ctes = visit_ctes(members, dialect)
    people = _people(ctes.visits)
    return union_all(
        _totals(ctes.visits, people, members, dialect),
        _paths(ctes.visits, dialect),
        _arrivals(ctes.visits, dialect),
        _views(ctes.viewed),
    )


def _row(part: Part, rank: Any, texts: Sequence[Any], numbers: Sequence[Any]) -> Query:
    """A SELECT in the common row shape, unused columns NULL."""
    t = [*texts, *(null(),) * (TEXTS - len(texts))]
    n = [*numbers, *(null(),) * (NUMBERS - len(numbers))]
    return select(
        literal(int(part), Integer).label("part"),
        rank.label("rank"),
        *(x.label(f"t{i}") for i, x in enumerate(t, 1)),
        *(x.label(f"n{i}") for i, x in enumerate(n, 1)),
    )


def _people(visits: FromClause) -> CTE:
    """One row per person seen (customer or anonymous visitor) and their log-ins.

    In person order, so the first-time look-ups walk the events' index in its order.
    """
    v = visits.c
    return (
        select(v.cid, v.vid, func.max(v.logins).label("logins"))
        .group_by(v.cid, v.vid)
        .order_by(v.cid, v.vid)
        .cte("people")
    )


def _totals(
    visits: FromClause,
    people: CTE,
    members: ColumnElement[bool] | None,
    dialect: str,
) -> Query:
    """Visits, page views, log-ins, people, first-time people and the group's size."""
    v, p = visits.c, people.c
    seen = select(
        func.count().label("visits"),
        func.sum(v.pages).label("page_views"),
        func.sum(v.logins).label("logins"),
        func.sum(case((v.pages > 0, 1), else_=0)).label("visits_with_pages"),
    ).subquery("seen")
    logged_in = p.logins > 0
    who = select(
        func.count(p.cid).label("customers"),
        func.count(p.vid).label("anonymous"),
        func.count(case((logged_in, p.cid))).label("logged_in_customers"),
        func.count(case((logged_in, p.vid))).label("logged_in_anonymous"),
    ).subquery("who")
    earlier = [E.type.in_(WEB_TYPES), E.occurred_at < PERIOD_START]
    # People with no web event before the period: one index probe each, through
    # (customer_id, occurred_at) or the anonymous visitors' index, in the index's order.
    known_customer = exists().where(E.customer_id == _plain(p.cid, dialect), *earlier)
    new_customers = (
        select(func.count()).select_from(people).where(p.cid.is_not(None), ~known_customer)
    )
    new_anonymous = (
        select(func.count())
        .select_from(people)
        .where(
            p.vid.is_not(None),
            ~exists().where(
                E.customer_id.is_(None), E.visitor_id == _plain(p.vid, dialect), *earlier
            ),
        )
    )
    group = (
        null()
        if members is None
        else select(func.count()).select_from(CUSTOMERS).where(members).scalar_subquery()
    )
    return _row(
        Part.TOTALS,
        literal(0, Integer),
        (),
        (
            *seen.c,
            *who.c,
            new_customers.scalar_subquery(),
            new_anonymous.scalar_subquery(),
            group,
        ),
    ).select_from(seen.join(who, true()))


def _plain(column: Any, dialect: str) -> Any:
    """A person key back in the database's collation, so the events' index serves it."""
    return collate(column, "default") if dialect == "postgresql" else column


def _code_point(expr: Any, dialect: str) -> Any:
    """Text ordered as Python orders it, so ties break alike on both databases."""
    text = func.coalesce(expr, "")
    return collate(text, "C") if dialect == "postgresql" else text


def _paths(visits: FromClause, dialect: str) -> Query:
    """The ``top`` most common first pages of visits that show one, with their visits."""
    v = visits.c
    pages = [getattr(v, f"p{n}") for n in range(1, PATH_LENGTH + 1)]
    n = func.count()
    ranked = (
        select(
            *pages,
            n.label("n"),
            func.row_number()
            .over(order_by=(n.desc(), *(_code_point(p, dialect) for p in pages)))
            .label("rank"),
        )
        .where(v.pages > 0)
        .group_by(*pages)
        .subquery("paths")
    )
    r = ranked.c
    return _row(Part.PATHS, r.rank, (r.p1, r.p2, r.p3), (r.n,)).where(r.rank <= PATHS_LISTED)


def _arrivals(visits: FromClause, dialect: str) -> Query:
    """Per (utm_source, banner): visits, people, and how many of them signed up / bought.

    A customer signed up / bought when their last sign-up / purchase in the period is
    at or after their first visit arriving that way.
    """
    v = visits.c
    first_at = func.min(v.started_at)

    def after_arrival(last: Any) -> Any:
        return case((and_(v.cid.is_not(None), func.max(last) >= first_at), 1), else_=0)

    people = (
        select(
            v.utm_source,
            v.banner,
            func.count().label("visits"),
            after_arrival(v.signed_up_at).label("signed_up"),
            after_arrival(v.bought_at).label("bought"),
        )
        .where(or_(v.utm_source.is_not(None), v.banner.is_not(None)))
        .group_by(v.utm_source, v.banner, v.cid, v.vid)
        .subquery("arrived")
    )
    a = people.c
    visit_count = func.sum(a.visits)
    order = (_code_point(k, dialect) for k in (a.utm_source, a.banner))
    rank = func.row_number().over(order_by=(visit_count.desc(), *order))
    return _row(
        Part.ARRIVALS,
        rank,
        (a.utm_source, a.banner),
        (visit_count, func.count(), func.sum(a.signed_up), func.sum(a.bought)),
    ).group_by(a.utm_source, a.banner)


def _views(viewed: FromClause) -> Query:
    """Page views by (content, product, product name, category): a few hundred rows.

    Counted per (content, product, category) first, then named from the catalogue.
    """
    w = viewed.c
    named = PRODUCTS.c
    return _row(
        Part.VIEWS,
        literal(0, Integer),
        (w.content, w.product, named.name, func.coalesce(w.category, named.category)),
        (w.n,),
    ).select_from(viewed.outerjoin(PRODUCTS, named.product_code == w.product))
