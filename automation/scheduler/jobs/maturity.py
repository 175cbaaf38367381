"""The maturity job: policies 20 days (configurable) before maturity, in the business
time zone, become ``policy_maturity_approaching``; policies that reached maturity
become ``policy_matured``.

The whole notice window is scanned on every run, not only the day that just entered
it: a policy imported late, or one whose day passed while the scheduler was down, is
still inside the window and is caught up, not skipped. Event ids name the policy and
its maturity date (``maturity:<policy>:<date>``, ``matured:<policy>:<date>``), and
policies whose event is already stored are left out in SQL (an index probe on the
unique ``event_id``), so the scan costs one indexed range query however often it runs.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import exists, select

from automation import clock
from automation.config import get_settings
from automation.db import get_engine
from automation.events import catalog
from automation.models import Event, Policy
from automation.scheduler.jobs.emit import emit

_policies = Policy.__table__  # type: ignore[attr-defined]
_events = Event.__table__  # type: ignore[attr-defined]
APPROACHING, MATURED = "policy_maturity_approaching", "policy_matured"


def run_maturity(now: datetime | None = None) -> int:
    """Emit the approaching and matured events due at ``now``; returns how many were new."""
    at = clock.to_utc(now or clock.now())
    settings = get_settings()
    today = at.in_tz(settings.timezone).date()
    approaching = _due(APPROACHING, today, today + timedelta(days=settings.maturity_notice_days))
    matured = _due(
        MATURED,
        today - timedelta(days=settings.maturity_catch_up_days),
        today - timedelta(days=1),
    )
    events = [catalog.maturity(APPROACHING, *row, at) for row in approaching]
    events += [catalog.maturity(MATURED, *row, at) for row in matured]
    return emit(events)


def _due(type_: str, first: date, last: date) -> list[tuple[str, str, date]]:
    """Active policies maturing between ``first`` and ``last`` whose event is not stored."""
    event_id = catalog.maturity_id_sql(type_, _policies.c.policy_id, _policies.c.maturity_date)
    stored = exists().where(_events.c.event_id == event_id)
    query = (
        select(_policies.c.policy_id, _policies.c.customer_id, _policies.c.maturity_date)
        .where(
            _policies.c.status == "active",
            _policies.c.maturity_date >= first,
            _policies.c.maturity_date <= last,
            ~stored,
        )
        .order_by(_policies.c.maturity_date, _policies.c.policy_id)
    )
    with get_engine().connect() as conn:
        return [(p, c, m) for p, c, m in conn.execute(query)]
