"""The maturity job: policies 20 days (configurable) before maturity, in the business
time zone, become ``policy_maturity_approaching``; policies that reached maturity
become ``policy_matured``. Event ids name the policy and the date, so a job run twice
or a scheduler that was down catches up without duplicates."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from automation import clock
from automation.config import get_settings
from automation.db import get_engine
from automation.ingest import ingest
from automation.models import Policy
from automation.sql import chunks

_policies = Policy.__table__  # type: ignore[attr-defined]
BATCH = 1000


def run_maturity(now: datetime | None = None) -> int:
    """Emit approaching and matured events due at ``now``; returns how many were new."""
    today = clock.to_utc(now or clock.now()).in_tz(get_settings().timezone).date()
    window_end = today + timedelta(days=get_settings().maturity_notice_days)
    approaching = _policies_between(today, window_end)  # still inside the window: caught up
    matured = _policies_between(
        today - timedelta(days=get_settings().maturity_catch_up_days), today - timedelta(days=1)
    )
    events = [_event("policy_maturity_approaching", "maturity", p, m) for p, _, m in approaching]
    events += [_event("policy_matured", "matured", p, m) for p, c, m in matured]
    customers = {p: c for p, c, _ in approaching + matured}
    new = 0
    for part in chunks(events, BATCH):
        for e in part:
            e["customer_id"] = customers[e["properties"]["policy_id"]]
        new += ingest(part, source="scheduler").count("accepted")
    return new


def _policies_between(first: date, last: date) -> list[tuple[str, str, date]]:
    query = select(_policies.c.policy_id, _policies.c.customer_id, _policies.c.maturity_date).where(
        _policies.c.status == "active",
        _policies.c.maturity_date >= first,
        _policies.c.maturity_date <= last,
    )
    with get_engine().connect() as conn:
        return [(p, c, m) for p, c, m in conn.execute(query)]


def _event(type_: str, prefix: str, policy_id: str, maturity: date) -> dict[str, object]:
    return {
        "event_id": f"{prefix}:{policy_id}:{maturity.isoformat()}",
        "type": type_,
        "occurred_at": clock.now().isoformat(),
        "properties": {"policy_id": policy_id, "maturity_date": maturity.isoformat()},
    }
