"""The consent job: advertising consent lapses two years after it was given.

정보통신망법 (art. 50(8), enforcement decree art. 62-3) makes a sender confirm an
advertising consent every two years. ``AD_CONSENT_NOTICE_DAYS`` before it lapses the
customer gets ``ad_consent_expiring`` (a journey can ask again), and once it has
lapsed ``ad_consent_expired``. The contact policy reads the consent's date, so a
lapsed consent is treated as withdrawn from that moment, event or not. Event ids
name the day the consent was given: a re-confirmed consent starts a new cycle.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from automation import clock
from automation.config import get_settings
from automation.events import catalog
from automation.models import Customer
from automation.scheduler.jobs.emit import customer_pages, emit

_customers = Customer.__table__  # type: ignore[attr-defined]
EXPIRING, EXPIRED = "ad_consent_expiring", "ad_consent_expired"


def ad_consent_expires_at(given_at: datetime) -> datetime:
    """When an advertising consent given at ``given_at`` lapses."""
    return clock.to_utc(given_at) + timedelta(days=get_settings().ad_consent_valid_days)


def run_consent(now: datetime | None = None) -> int:
    """Emit expiring and expired events due at ``now``; returns how many were new."""
    at = clock.to_utc(now or clock.now())
    settings = get_settings()
    valid = timedelta(days=settings.ad_consent_valid_days)
    notice = timedelta(days=settings.ad_consent_notice_days)
    c = _customers
    query = select(c.c.customer_id, c.c.ad_consent_at).where(
        c.c.ad_consent.is_(True), c.c.ad_consent_at <= at - valid + notice
    )
    emitted = 0
    for page in customer_pages(query):
        events = []
        for customer_id, given in page:
            expires = ad_consent_expires_at(given)
            events.append(catalog.ad_consent(EXPIRING, customer_id, given, expires, at))
            if expires <= at:
                events.append(catalog.ad_consent(EXPIRED, customer_id, given, expires, at))
        emitted += emit(events)
    return emitted
