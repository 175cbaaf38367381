"""The replay's figures, read back through the product's own reports and tables.

Everything here is JSON-ready and a function of the seed: the summary, the HTML report
and the test read the same dictionary.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from automation import clock
from automation.config import get_settings
from automation.db import get_engine
from automation.demo.mailbox import sms_outbox
from automation.demo.people import TABLE2_CONDITION
from automation.demo.world import World
from automation.models import CallTask, Customer, Enrollment, Event, Message, Policy
from automation.reports.campaigns import campaign_report
from automation.reports.funnel import funnel_report
from automation.reports.journeys import journeys_report
from automation.reports.period import Period
from automation.reports.weblog import weblog_report

WEBLOG_DAYS = 30  # the table-2 figures are a month's, as WebNibbler showed them
EVENT_KINDS = {  # event type → what the daily chart calls it
    "page_view": "web",
    "content_view": "web",
    "product_view": "web",
    "login": "web",
    "signup": "web",
    "email_opened": "responses",
    "email_clicked": "responses",
    "sms_replied": "responses",
    "call_completed": "responses",
    "unsubscribed": "responses",
    "policy_purchased": "policies",
    "policy_renewed": "policies",
}


def collect(world: World, start: datetime, days: int, seed: int) -> dict[str, Any]:
    """Every figure of the replay that started at ``start`` and ran ``days`` days."""
    first = start.date()
    period = Period(first, first + timedelta(days=days - 1))
    month = Period(max(first, period.end - timedelta(days=WEBLOG_DAYS - 1)), period.end)
    journeys = journeys_report(period).to_dict()
    campaigns = campaign_report(period, by=("journey", "channel")).to_dict()
    weblog = weblog_report(month, TABLE2_CONDITION).to_dict()
    weblog["page_views_per_visitor_per_30_days"] = round(
        weblog["page_views_per_visitor"] * 30 / month.days, 2
    )
    with get_engine().connect() as conn:
        tables = _tables(conn, period)
        daily = _daily(conn, period)
    return {
        "seed": seed,
        "days": days,
        "period": period.to_dict(),
        "people": _people(world),
        "did": dict(sorted(world.did.items())),
        "funnel": funnel_report(period).to_dict(),
        "journeys": journeys,
        "campaigns": campaigns,
        "table2": weblog,
        "daily": daily,
        **tables,
        "files": _files(),
        "engine": {"actor_failures": world.pump.failures},
    }


def _people(world: World) -> dict[str, int]:
    return {
        "people": len(world.people),
        "members_at_start": sum(1 for p in world.people if p.customer_id and not p.joined),
        "members_at_end": sum(1 for p in world.people if p.customer_id),
        "table2_people": sum(1 for p in world.people if p.group == "table2"),
        "work_mail": len(world.work_mail),
    }


def _tables(conn: Any, period: Period) -> dict[str, Any]:
    """Ledger and database counts: what the consistency checks compare.

    ``messages`` counts every message of the replay; ``messages_outside_period`` those
    decided outside the reporting period (the last tick falls on the period's end, an
    instant the period excludes), which the campaign report leaves out.
    """
    m = Message.__table__  # type: ignore[attr-defined]
    status = Counter(
        {
            f"{channel}:{st}": n
            for channel, st, n in conn.execute(
                select(m.c.channel, m.c.status, func.count()).group_by(m.c.channel, m.c.status)
            )
        }
    )
    outside = {
        f"{channel}:{st}": n
        for channel, st, n in conn.execute(
            select(m.c.channel, m.c.status, func.count())
            .where((m.c.created_at < period.start_utc) | (m.c.created_at >= period.end_utc))
            .group_by(m.c.channel, m.c.status)
        )
    }
    reasons: dict[str, dict[str, int]] = defaultdict(dict)
    for st, reason, n in conn.execute(
        select(m.c.status, m.c.reason, func.count())
        .where(m.c.status.in_(("suppressed", "deferred", "failed")))
        .group_by(m.c.status, m.c.reason)
    ):
        reasons[st][reason or "unspecified"] = n
    t = CallTask.__table__  # type: ignore[attr-defined]
    outcomes = {
        outcome or status_: n
        for status_, outcome, n in conn.execute(
            select(t.c.status, t.c.outcome, func.count()).group_by(t.c.status, t.c.outcome)
        )
    }
    e = Event.__table__  # type: ignore[attr-defined]
    unprocessed = conn.execute(
        select(func.count()).select_from(e).where(e.c.processed_at.is_(None))
    ).scalar_one()
    failed = conn.execute(
        select(func.count()).select_from(e).where(e.c.last_error.is_not(None))
    ).scalar_one()
    stages = dict(
        conn.execute(
            select(Customer.lifecycle_stage, func.count()).group_by(Customer.lifecycle_stage)  # type: ignore[call-overload]
        ).all()
    )
    return {
        "messages": dict(sorted(status.items())),
        "messages_outside_period": dict(sorted(outside.items())),
        "reasons": {
            k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0])))
            for k, v in sorted(reasons.items())
        },
        "call_tasks": dict(sorted(outcomes.items())),
        "events": {
            "total": conn.execute(select(func.count()).select_from(e)).scalar_one(),
            "unprocessed": unprocessed,
            "failed": failed,
        },
        "stages": dict(sorted(stages.items())),
        "policies": conn.execute(select(func.count()).select_from(Policy)).scalar_one(),  # type: ignore[arg-type]
        "enrollments": conn.execute(select(func.count()).select_from(Enrollment)).scalar_one(),  # type: ignore[arg-type]
    }


def _daily(conn: Any, period: Period) -> dict[str, Any]:
    """Per local day: events by kind, messages sent by channel (and by channel and
    journey, to name a spike), and enrollments by journey (the report's charts)."""
    zone = get_settings().timezone
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    index = {d: i for i, d in enumerate(days)}
    events: dict[str, list[int]] = {k: [0] * len(days) for k in ("web", "responses", "policies")}
    e = Event.__table__  # type: ignore[attr-defined]
    for at, type_ in conn.execute(
        select(e.c.occurred_at, e.c.type).where(
            e.c.type.in_(list(EVENT_KINDS)),
            e.c.occurred_at >= period.start_utc,
            e.c.occurred_at < period.end_utc,
        )
    ):
        i = index.get(_local_day(at, zone))
        if i is not None:
            events[EVENT_KINDS[type_]][i] += 1
    sent: dict[str, list[int]] = {c: [0] * len(days) for c in ("email", "sms", "call")}
    sent_by: dict[str, dict[str, list[int]]] = {c: {} for c in sent}
    m = Message.__table__  # type: ignore[attr-defined]
    for at, channel, journey in conn.execute(
        select(m.c.sent_at, m.c.channel, m.c.journey_id).where(m.c.sent_at.is_not(None))
    ):
        i = index.get(_local_day(at, zone))
        if i is not None and channel in sent:
            sent[channel][i] += 1
            sent_by[channel].setdefault(journey or "", [0] * len(days))[i] += 1
    entered: dict[str, list[int]] = {}
    n = Enrollment.__table__  # type: ignore[attr-defined]
    for at, journey in conn.execute(
        select(n.c.entered_at, n.c.journey_id).where(
            n.c.entered_at >= period.start_utc, n.c.entered_at < period.end_utc
        )
    ):
        i = index.get(_local_day(at, zone))
        if i is not None:
            entered.setdefault(journey, [0] * len(days))[i] += 1
    return {
        "days": [d.isoformat() for d in days],
        "events": events,
        "sent": sent,
        "sent_by_journey": {c: dict(sorted(by.items())) for c, by in sent_by.items()},
        "entered": dict(sorted(entered.items())),
    }


def _local_day(at: datetime, zone: str) -> date:
    return clock.to_utc(at).in_tz(zone).date()


def _files() -> dict[str, int]:
    """What the channels wrote: ``.eml`` files in the sink, SMS files in the outbox."""
    mail = Path(get_settings().email_outbox)
    return {
        "eml": sum(1 for _ in mail.glob("*.eml")) if mail.is_dir() else 0,
        "sms": sum(1 for _ in sms_outbox().glob("*.json")) if sms_outbox().is_dir() else 0,
    }
