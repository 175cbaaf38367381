"""Value tiers: VIP or regular, from the customer's active policies.

A customer is VIP when any rule of the settings holds over their **active** policies
(matured and cancelled ones do not count):

* at least ``VIP_MIN_POLICIES`` of them, or
* together at least ``VIP_MIN_ANNUAL_PREMIUM`` KRW a year, or
* at least ``VIP_TENURE_MIN_POLICIES`` of them, the oldest started at least
  ``VIP_MIN_TENURE_YEARS`` ago (on its anniversary day, in the business time zone).

``Policy.premium`` is the **monthly** premium (월 보험료): the demo seeds 30,000–400,000
KRW, what Korean policies cost a month, and events carry the same figure. A year is
twelve of them, so the premium rule is a monthly total of 250,000 KRW by default.

An imported tier (``value_tier`` column of a customers import) is an override:
``attributes.value_tier_source`` says where it came from, and the computed tier never
replaces it until the import clears it (``value_tier=auto``).

The profile step recomputes one customer after each policy event (:func:`refresh`);
the daily ``tiers`` job recomputes everyone in SQL (:func:`recompute`), since tenure
grows with time alone. The segments job that follows it moves the changed customers
in and out of ``vip``/``regular`` and emits their segment events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

import sqlmodel
from sqlalchemy import and_, case, func, not_, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from automation import clock
from automation.conditions import CUSTOMERS, POLICIES, compile_condition, years_before
from automation.config import Settings, get_settings
from automation.db import get_engine
from automation.db.sql import among, chunks, retry_conflicts
from automation.events.imports.tiers import SOURCE
from automation.models import Customer, Policy, ValueTier

PAYMENTS_A_YEAR = 12  # Policy.premium is monthly
CHUNK = 1000
log = logging.getLogger(__name__)


class Held(Protocol):
    """What the rules read of a policy (a :class:`Policy` row is one)."""

    status: str
    premium: Decimal | None
    start_date: date | None


def overridden(customer: Customer) -> bool:
    """True when the customer's tier was set by hand (an import), not computed."""
    return bool((customer.attributes or {}).get(SOURCE))


def computed_tier(policies: Iterable[Held], today: date, settings: Settings) -> ValueTier:
    """The tier the rules give for these policies as of ``today`` (a local date)."""
    active = [p for p in policies if p.status == "active"]
    monthly = sum((p.premium or Decimal(0) for p in active), Decimal(0))
    starts = [p.start_date for p in active if p.start_date is not None]
    tenured = bool(starts) and min(starts) <= years_before(today, settings.vip_min_tenure_years)
    vip = (
        len(active) >= settings.vip_min_policies
        or monthly * PAYMENTS_A_YEAR >= settings.vip_min_annual_premium
        or (len(active) >= settings.vip_tenure_min_policies and tenured)
    )
    return ValueTier.VIP if vip else ValueTier.REGULAR


def tier_for(customer: Customer, policies: Iterable[Held], today: date, settings: Settings) -> str:
    """The customer's tier: the override if there is one, else the computed one."""
    if overridden(customer):
        return customer.value_tier
    return computed_tier(policies, today, settings).value


def local_day(at: datetime) -> date:
    """``at``'s date in the business time zone (the day tenure is counted on)."""
    return clock.to_utc(at).in_tz(get_settings().timezone).date()


def policies_of(session: Session, customer: Customer) -> list[Policy]:
    """Every policy of ``customer`` in ``session`` (autoflush: an event's own change is in)."""
    mine = sqlmodel.select(Policy).where(col(Policy.customer_id) == customer.customer_id)
    return list(session.exec(mine).all())


def refresh(
    session: Session, customer: Customer, at: datetime, held: list[Policy] | None = None
) -> bool:
    """Recompute one customer's tier from their policies (``held``, else read from
    ``session``): the profile step, after a policy event; True if it changed."""
    if overridden(customer):
        return False
    if held is None:
        held = policies_of(session, customer)
    tier = tier_for(customer, held, local_day(at), get_settings())
    if tier == customer.value_tier:
        return False
    customer.value_tier = tier
    session.add(customer)
    return True


# --- everyone at once (the daily job) ------------------------------------------------


def vip_customers(today: date, settings: Settings | None = None) -> Any:
    """SELECT of the ids of customers whose active policies make them VIP."""
    s = settings or get_settings()
    p = POLICIES
    held = func.count()
    yearly = func.coalesce(func.sum(p.c.premium), 0) * PAYMENTS_A_YEAR
    cutoff = years_before(today, s.vip_min_tenure_years)
    return (
        select(p.c.customer_id)
        .where(p.c.status == "active")
        .group_by(p.c.customer_id)
        .having(
            or_(
                held >= s.vip_min_policies,
                yearly >= s.vip_min_annual_premium,
                and_(held >= s.vip_tenure_min_policies, func.min(p.c.start_date) <= cutoff),
            )
        )
    )


def _not_overridden(now: datetime) -> ColumnElement[bool]:
    spec = {f"customer.attributes.{SOURCE}": {"exists": True}}
    return not_(compile_condition(spec, allow_event=False).to_sql(now))


def recompute(today: date, customer_ids: list[str] | None = None) -> int:
    """Set the computed tier of every customer (or of ``customer_ids``) whose tier
    differs and is not an override, as of the local day ``today``; returns how many
    changed. One SELECT finds them; the changes are made in id order (the pipeline's
    lock order), each re-checked in its UPDATE so a policy event meanwhile wins."""
    now = clock.now()
    c = CUSTOMERS
    vips = vip_customers(today)
    tier = case((c.c.customer_id.in_(vips), ValueTier.VIP.value), else_=ValueTier.REGULAR.value)
    query = select(c.c.customer_id, tier).where(_not_overridden(now), tier != c.c.value_tier)
    with get_engine().connect() as conn:
        if customer_ids is not None:
            if not customer_ids:
                return 0
            query = query.where(among(conn.dialect.name, c.c.customer_id, customer_ids))
        due: dict[str, list[str]] = {}
        for customer_id, wanted in conn.execute(query):
            due.setdefault(wanted, []).append(customer_id)
    changed = 0
    for wanted, ids in due.items():
        for part in chunks(sorted(ids), CHUNK):
            changed += retry_conflicts(partial(_set, part, wanted, today))
    if changed:
        log.info("value tiers: %d customers changed tier", changed)
    return changed


def recompute_now(customer_ids: list[str] | None = None) -> int:
    """:func:`recompute` as of today (after an import: its report's ``retier``)."""
    return recompute(local_day(clock.now()), customer_ids)


def _set(ids: list[str], tier: str, today: date) -> int:
    c = CUSTOMERS
    now = clock.now()
    with get_engine().begin() as conn:
        dialect = conn.dialect.name
        _lock(conn, among(dialect, c.c.customer_id, ids))
        vips = vip_customers(today)
        still = c.c.customer_id.in_(vips) if tier == ValueTier.VIP else c.c.customer_id.notin_(vips)
        result = conn.execute(
            update(c)
            .where(among(dialect, c.c.customer_id, ids), still, _not_overridden(now))
            .where(c.c.value_tier != tier)
            .values(value_tier=tier, updated_at=now)
        )
        return int(result.rowcount or 0)


def _lock(conn: Connection, where: ColumnElement[bool]) -> None:
    c = CUSTOMERS
    if conn.dialect.name == "postgresql":  # SQLite's write lock is the whole database
        conn.execute(
            select(c.c.customer_id).where(where).order_by(c.c.customer_id).with_for_update()
        )
