"""Per product: who looked, who was interested, who bought (seed 000 §3.2: the
merchandiser's view of each product's response, and of products nobody responds to).

Definitions, all inside the period (one event of the web log, ``weblog``):

- **views**: page views (``page_view``, ``content_view``, ``product_view``) naming the
  product (``product``); **viewers**: the people (customer, else visitor) with one.
- **interested**: customers who viewed it at least ``INTERESTED_VIEWS`` (3) times or
  asked for a quote or a consultation on it (``quote_request`` /
  ``consultation_request`` naming it). Anonymous visitors are viewers, never
  interested: nobody could follow them up.
- **purchases**: ``policy_purchased`` events naming it; **buyers**: their customers.
- **viewed then bought**: viewers who bought it at or after their first view in the
  period; **view → purchase**: that / viewers.
- **interested, not bought**: interested customers with no purchase of it: the people
  to ask why (price, terms, the page) for a product that does not sell.
- **never bought**: viewed in the period and not bought in it.
- With a segment: only its members' events (members at the period's end, or now if
  earlier; ``segment_groups``). Every catalogue product is listed, viewed or not, and
  products the events name outside the catalogue too; most viewed first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select

from automation import clock
from automation.conditions import EVENTS
from automation.db import get_engine
from automation.models import Product
from automation.reports.period import Period
from automation.reports.segment_groups import in_segment, segment_names, unrecorded
from automation.reports.weblog_events import (
    PAGE_TYPES,
    PURCHASE,
    in_period,
    of_group,
    period_params,
    prop,
)
from automation.reports.weblog_figures import ratio

INTERESTED_VIEWS = 3
REQUESTS = ("consultation_request", "quote_request")
PRODUCTS = Product.__table__  # type: ignore[attr-defined]
E = EVENTS.c
_FIGURES = (
    "views",
    "viewers",
    "interested",
    "purchases",
    "buyers",
    "viewed_then_bought",
    "interested_not_bought",
)


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One product's figures."""

    product: str
    name: str | None
    category: str | None
    views: int = 0
    viewers: int = 0
    interested: int = 0
    purchases: int = 0
    buyers: int = 0
    viewed_then_bought: int = 0
    interested_not_bought: int = 0

    @property
    def view_to_purchase(self) -> float:
        return ratio(self.viewed_then_bought, self.viewers)

    @property
    def never_bought(self) -> bool:
        return self.views > 0 and self.purchases == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "name": self.name,
            "category": self.category,
            **{f: getattr(self, f) for f in _FIGURES},
            "view_to_purchase": round(self.view_to_purchase, 4),
            "never_bought": self.never_bought,
        }


@dataclass(frozen=True, slots=True)
class ProductsReport:
    """Every product's figures for the period, for everyone or one segment."""

    period: Period
    segment: str | None
    rows: list[ProductRow]
    unrecorded: list[str]  # the segment, when no membership is recorded at the period's end

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "segment": self.segment,
            "unrecorded": self.unrecorded,
            "interested_views": INTERESTED_VIEWS,
            "never_bought": [r.product for r in self.rows if r.never_bought],
            "rows": [r.to_dict() for r in self.rows],
        }


def products_report(period: Period, segment: str | None = None) -> ProductsReport:
    """Views, interest and purchases of each product in ``period``.

    Raises:
        UnknownSegment: ``segment`` names no published segment.
    """
    with get_engine().connect() as conn:
        members, missing = None, []
        if segment is not None:
            segment_names(conn, segment)  # raises for an unknown one
            as_of = min(clock.now(), period.end_utc)
            members, missing = in_segment(segment, as_of), unrecorded(conn, [segment], as_of)
        figures = {
            r.product: r
            for r in conn.execute(_statement(members), period_params(period))
            if r.product is not None
        }
        catalogue = {
            r.product_code: r
            for r in conn.execute(
                select(PRODUCTS.c.product_code, PRODUCTS.c.name, PRODUCTS.c.category)
            )
        }
    rows = []
    for code in sorted(set(figures) | set(catalogue)):
        known, counted = catalogue.get(code), figures.get(code)
        rows.append(
            ProductRow(
                code,
                known.name if known else None,
                known.category if known else None,
                *(int(getattr(counted, f) or 0) if counted else 0 for f in _FIGURES),
            )
        )
    rows.sort(key=lambda r: (-r.views, -r.purchases, r.product))
    return ProductsReport(period, segment, rows, missing)


def _statement(members: Any) -> Any:
    """Per product: the figures, from one read of its events per (product, person)."""
    product = prop("product")
    is_page = case((E.type.in_(PAGE_TYPES), 1), else_=0)
    is_purchase = case((E.type == PURCHASE, 1), else_=0)
    visitor = case((E.customer_id.is_(None), E.visitor_id))
    per_person = (
        select(
            product.label("product"),
            E.customer_id.label("cid"),
            func.sum(is_page).label("views"),
            func.max(case((E.type.in_(REQUESTS), 1), else_=0)).label("asked"),
            func.sum(is_purchase).label("bought"),
            func.min(case((is_page == 1, E.occurred_at))).label("first_view"),
            func.max(case((is_purchase == 1, E.occurred_at))).label("last_buy"),
        )
        .where(
            *in_period(*PAGE_TYPES, *REQUESTS, PURCHASE),
            product.is_not(None),
            *of_group(members),
        )
        .group_by(product, E.customer_id, visitor)
        .subquery("per_person")
    )
    p = per_person.c
    viewed, bought = p.views > 0, p.bought > 0
    interested = and_(p.cid.is_not(None), (p.views >= INTERESTED_VIEWS) | (p.asked > 0))
    return select(
        p.product,
        func.sum(p.views).label("views"),
        func.count(case((viewed, 1))).label("viewers"),
        func.count(case((interested, 1))).label("interested"),
        func.sum(p.bought).label("purchases"),
        func.count(case((and_(bought, p.cid.is_not(None)), 1))).label("buyers"),
        func.count(case((and_(viewed, bought, p.last_buy >= p.first_view), 1))).label(
            "viewed_then_bought"
        ),
        func.count(case((and_(interested, ~bought), 1))).label("interested_not_bought"),
    ).group_by(p.product)
