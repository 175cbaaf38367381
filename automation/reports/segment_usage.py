"""Each segment's web usage by age band × gender (seed 000 §3.2, "차원간 조합과 비교분석").

Definitions (the web log's for visits and page views, ``weblog``; the segment's
members, age band and gender, ``segment_groups``):

- **members**: the segment's members at the period's end (or now, if earlier); their
  age is taken on that day.
- **visitors**: members with a web event in the period; **page views** and **visits**
  are theirs in the period (a visit crossing the period's start counts from there).
- **page views / visitor**, **visits / week / visitor**: over the visitors, the
  period's weeks being its days / 7 (the seed's "평균 페이지뷰 25, 주평균 방문 2.2").
- **top content / category / product**: the ``TOP`` keys the members' page views name
  most (ties by key), with their page views; a product page's category is the
  catalogue's when the page names none.
- One row per (segment, age band, gender) with members, then the segment's ``all`` ×
  ``all`` row. A customer in two segments counts in both. ``unrecorded`` lists the
  segments with no membership recorded yet at that time (published later).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Subquery, func, literal, select, union_all

from automation import clock
from automation.conditions import CUSTOMERS, EVENTS
from automation.config import get_settings
from automation.db import get_engine
from automation.models import Product
from automation.reports.period import Period
from automation.reports.segment_groups import (
    age_band,
    band_key,
    gender,
    gender_key,
    member_visits,
    members_at,
    segment_names,
    unrecorded,
)
from automation.reports.weblog_events import PAGE_TYPES, in_period, period_params, prop
from automation.reports.weblog_figures import ratio

TOP = 3
ALL = "all"
PRODUCTS = Product.__table__  # type: ignore[attr-defined]
E = EVENTS.c


@dataclass(slots=True)
class UsageRow:
    """One segment × age band × gender cell."""

    segment: str
    segment_name: str
    age_band: str
    gender: str
    members: int = 0
    visitors: int = 0
    page_views: int = 0
    visits: int = 0
    views: dict[str, Counter[str]] = field(
        default_factory=lambda: {k: Counter() for k in ("content", "category", "product")}
    )

    def to_dict(self, weeks: float, names: dict[str, str]) -> dict[str, Any]:
        def top(kind: str) -> list[dict[str, Any]]:
            ranked = sorted(self.views[kind].items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
            if kind == "product":
                return [{"key": k, "name": names.get(k), "views": n} for k, n in ranked]
            return [{"key": k, "views": n} for k, n in ranked]

        return {
            "segment": self.segment,
            "segment_name": self.segment_name,
            "age_band": self.age_band,
            "gender": self.gender,
            "members": self.members,
            "visitors": self.visitors,
            "page_views": self.page_views,
            "visits": self.visits,
            "page_views_per_visitor": round(ratio(self.page_views, self.visitors), 2),
            "visits_per_week_per_visitor": round(ratio(self.visits, self.visitors) / weeks, 2),
            "top_content": top("content"),
            "top_category": top("category"),
            "top_product": top("product"),
        }


@dataclass(frozen=True, slots=True)
class SegmentUsageReport:
    """The cells of every segment (or one), in segment, age band, gender order."""

    period: Period
    as_of: datetime
    segment: str | None
    rows: list[UsageRow]
    product_names: dict[str, str]
    unrecorded: list[str]  # segments with no membership recorded at ``as_of``

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "members_as_of": self.as_of.isoformat(),
            "segment": self.segment,
            "unrecorded": self.unrecorded,
            "rows": [r.to_dict(self.period.weeks, self.product_names) for r in self.rows],
        }


def segment_usage_report(period: Period, segment: str | None = None) -> SegmentUsageReport:
    """Web usage of each segment's members in ``period``, by age band × gender.

    Raises:
        UnknownSegment: ``segment`` names no published segment.
    """
    as_of = min(clock.now(), period.end_utc)
    day = as_of.astimezone(ZoneInfo(get_settings().timezone)).date()
    with get_engine().connect() as conn:
        names = segment_names(conn, segment)
        missing = unrecorded(conn, list(names), as_of)
        members = members_at(as_of, None if segment is None else [segment])
        band, sex = age_band(CUSTOMERS.c.birth_date, day), gender(CUSTOMERS.c.gender)
        cells: dict[tuple[str, str, str], UsageRow] = {}

        def cell(seg: str, b: str, g: str) -> UsageRow:
            key = (seg, b, g)
            if key not in cells:
                cells[key] = UsageRow(seg, names.get(seg, seg), b, g)
            return cells[key]

        for r in conn.execute(_usage(members, band, sex, conn), period_params(period)):
            row = cell(r.segment_id, r.band, r.gender)
            row.members, row.visitors = int(r.members), int(r.visitors)
            row.page_views, row.visits = int(r.page_views or 0), int(r.visits or 0)
        for r in conn.execute(_views(members, band, sex), period_params(period)):
            cell(r.segment_id, r.band, r.gender).views[r.kind][r.key] += int(r.n)
        product_names = dict(
            (r.product_code, r.name)
            for r in conn.execute(select(PRODUCTS.c.product_code, PRODUCTS.c.name))
        )
    rows = _with_totals(cells, names)
    return SegmentUsageReport(period, as_of, segment, rows, product_names, missing)


def _usage(members: Subquery, band: Any, sex: Any, conn: Connection) -> Any:
    """Per (segment, band, gender): members, visitors, their page views and visits."""
    m = members.c
    per_customer = member_visits(members, conn, "per_customer")
    u = per_customer.c
    return (
        select(
            m.segment_id,
            band.label("band"),
            sex.label("gender"),
            func.count().label("members"),
            func.count(u.customer_id).label("visitors"),
            func.sum(u.pages).label("page_views"),
            func.sum(u.visits).label("visits"),
        )
        .select_from(
            members.join(CUSTOMERS, CUSTOMERS.c.customer_id == m.customer_id).outerjoin(
                per_customer, u.customer_id == m.customer_id
            )
        )
        .group_by(m.segment_id, band, sex)
    )


def _views(members: Subquery, band: Any, sex: Any) -> Any:
    """Per (segment, band, gender): page views by content, by category, by product."""
    m = members.c
    joined = members.join(CUSTOMERS, CUSTOMERS.c.customer_id == m.customer_id).join(
        EVENTS, E.customer_id == m.customer_id
    )
    category = func.coalesce(prop("category"), PRODUCTS.c.category)
    parts = []
    for kind, key, source in (
        ("content", prop("content"), joined),
        (
            "category",
            category,
            joined.outerjoin(PRODUCTS, PRODUCTS.c.product_code == prop("product")),
        ),
        ("product", prop("product"), joined),
    ):
        parts.append(
            select(
                m.segment_id,
                band.label("band"),
                sex.label("gender"),
                literal(kind).label("kind"),
                key.label("key"),
                func.count().label("n"),
            )
            .select_from(source)
            .where(*in_period(*PAGE_TYPES), key.is_not(None))
            .group_by(m.segment_id, band, sex, key)
        )
    return union_all(*parts)


def _with_totals(
    cells: dict[tuple[str, str, str], UsageRow], names: dict[str, str]
) -> list[UsageRow]:
    """The cells in order, each segment (one without members too) followed by its
    ``all`` × ``all`` row."""
    by_segment: dict[str, list[UsageRow]] = defaultdict(list)
    for (seg, _, _), row in cells.items():
        by_segment[seg].append(row)
    rows: list[UsageRow] = []
    for seg in names:
        parts = sorted(by_segment[seg], key=lambda r: (band_key(r.age_band), gender_key(r.gender)))
        total = UsageRow(seg, names[seg], ALL, ALL)
        for r in parts:
            total.members += r.members
            total.visitors += r.visitors
            total.page_views += r.page_views
            total.visits += r.visits
            for kind, counts in r.views.items():
                total.views[kind].update(counts)
        rows.extend([*parts, total])
    return rows
