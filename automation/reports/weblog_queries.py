"""The web-log figures' queries: over the visits table (``weblog_visits``) and the events.

Each returns a SELECT; ``weblog.weblog_report`` runs them and assembles the report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, collate, exists, func, or_, select

from automation.conditions import CUSTOMERS, EVENTS
from automation.models import Product
from automation.reports.period import Period
from automation.reports.query import Query
from automation.reports.weblog_events import PAGE_TYPES, WEB_TYPES, in_period, of_group, prop

PRODUCTS: Table = Product.__table__  # type: ignore[attr-defined]
E = EVENTS.c


def totals_query(visits: Table) -> Query:
    """Visits, page views, log-ins and (logged-in) people, in one row."""
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


def first_time_query(visits: Table, period: Period) -> Query:
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


def paths_query(visits: Table, top: int, dialect: str) -> Query:
    """The ``top`` most common first pages of visits that show one, with their visits."""
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


def arrivals_query(visits: Table, period: Period, dialect: str) -> Query:
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
        .where(*in_period(period, "signup", "policy_purchased"))
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


def viewed_query(period: Period, members: ColumnElement[bool] | None) -> Query:
    """Page views by (content, product, product name, category): a few hundred rows."""
    product = prop("product")
    named = (
        select(
            prop("content").label("content"),
            product.label("product"),
            PRODUCTS.c.name.label("name"),
            func.coalesce(prop("category"), PRODUCTS.c.category).label("category"),
        )
        .select_from(EVENTS.outerjoin(PRODUCTS, PRODUCTS.c.product_code == product))
        .where(*in_period(period, *PAGE_TYPES), *of_group(members))
        .subquery("viewed")
    )
    c = named.c
    return select(c.content, c.product, c.name, c.category, func.count()).group_by(
        c.content, c.product, c.name, c.category
    )


def group_size_query(members: ColumnElement[bool]) -> Query:
    """How many customers the group selects."""
    return select(func.count()).select_from(CUSTOMERS).where(members)
