"""Which events the web log reads, and the filters every web-log query starts from.

The definitions (web event, page view) are in ``weblog``'s docstring.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from automation.conditions import CUSTOMERS, EVENTS
from automation.customers.profile import ACTIVITY_TYPES
from automation.reports.period import Period

PAGE_TYPES = ("content_view", "page_view", "product_view")
WEB_TYPES = tuple(sorted(ACTIVITY_TYPES))
E = EVENTS.c


def prop(key: str) -> ColumnElement[str]:
    """The event property ``key`` as text."""
    return E.properties[key].as_string()  # type: ignore[no-any-return]


def in_period(period: Period, *types: str) -> list[ColumnElement[bool]]:
    """Events of ``types`` inside the period: the (type, occurred_at) index's range."""
    return [E.type.in_(types), E.occurred_at >= period.start_utc, E.occurred_at < period.end_utc]


def of_group(members: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    """Events of the customers ``members`` selects (no filter without a group)."""
    if members is None:
        return []
    return [E.customer_id.in_(select(CUSTOMERS.c.customer_id).where(members))]
