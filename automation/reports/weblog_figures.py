"""The web-log report's figures as dataclasses, and their JSON form (``to_dict``).

The definitions are in ``weblog``'s docstring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from automation.reports.period import Period


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
        return ratio(self.logins, self.visitors)

    @property
    def page_views_per_visitor(self) -> float:
        return ratio(self.page_views, self.visitors)

    @property
    def visits_per_week(self) -> float:
        return self.visits / self.period.weeks

    @property
    def visits_per_week_per_visitor(self) -> float:
        return ratio(self.visits, self.visitors) / self.period.weeks

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


def ratio(part: float, whole: float) -> float:
    """``part / whole``, 0 when there is no whole."""
    return part / whole if whole else 0.0


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
