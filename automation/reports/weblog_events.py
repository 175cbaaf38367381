"""Which events the web log reads, and the filters every web-log query starts from.

The definitions (web event, page view) are in ``weblog``'s docstring. The period's
bounds are bind parameters (``PERIOD_START``, ``PERIOD_END``, given at execution by
``period_params``), so one statement serves every period.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, bindparam, select

from automation.conditions import CUSTOMERS, EVENTS
from automation.customers.profile import ACTIVITY_TYPES
from automation.db.types import UTCDateTime
from automation.reports.period import Period

PAGE_TYPES = ("content_view", "page_view", "product_view")
PURCHASE = "policy_purchased"  # not a web event; read with them for the arrivals
WEB_TYPES = tuple(sorted(ACTIVITY_TYPES))
E = EVENTS.c
PERIOD_START: BindParameter[datetime] = bindparam("period_start", type_=UTCDateTime())
PERIOD_END: BindParameter[datetime] = bindparam("period_end", type_=UTCDateTime())


def period_params(period: Period) -> dict[str, datetime]:
    """The values of ``PERIOD_START`` and ``PERIOD_END`` for ``period``."""
    return {"period_start": period.start_utc, "period_end": period.end_utc}


def prop(key: str) -> ColumnElement[str]:
    """The event property ``key`` as text."""
    return E.properties[key].as_string()  # type: ignore[no-any-return]


def in_period(*types: str) -> list[ColumnElement[bool]]:
    """Events of ``types`` inside the period: the (type, occurred_at) index's range."""
    return [E.type.in_(types), E.occurred_at >= PERIOD_START, E.occurred_at < PERIOD_END]


def of_group(members: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    """Events of the customers ``members`` selects (no filter without a group).

    As ``IN (SELECT …)``: PostgreSQL reads the group's customers, then each one's
    events of the period through the (customer_id, occurred_at) index.
    """
    if members is None:
        return []
    return [E.customer_id.in_(select(CUSTOMERS.c.customer_id).where(members))]
