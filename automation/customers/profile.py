"""The profile step: what an event changes about the customer and the visitor.

Visits (30 minutes of inactivity start a new one), the lifecycle ladder
(member → customer → repeat, never down), policies bought or ended through
events and the value tier they give (``tiers.py``), and the activity status a
returning dormant customer leaves.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, select

from automation import clock
from automation.config import get_settings
from automation.customers import tiers
from automation.customers.chunk import Chunk
from automation.customers.consent import CONSENT_CHANGED, apply_consent
from automation.db.sql import among
from automation.models import (
    ActivityStatus,
    Customer,
    Event,
    Identity,
    LifecycleStage,
    Policy,
    Product,
    promote,
    stage_for_policy_count,
)

ACTIVITY_TYPES = frozenset(
    {
        "page_view",
        "login",
        "signup",
        "product_view",
        "content_view",
        "quote_request",
        "consultation_request",
    }
)
# The activity job's verdicts: from which statuses each one moves a customer.
SILENCE = {
    "customer_dormant": (
        ActivityStatus.DORMANT,
        (ActivityStatus.ACTIVE, ActivityStatus.REACTIVATED),
    ),
    "customer_churned": (ActivityStatus.CHURNED, (ActivityStatus.DORMANT,)),
}
POLICY_TYPES = frozenset(
    {"policy_purchased", "policy_renewed", "policy_matured", "policy_cancelled"}
)
# Every event type after which this step may have changed a customer's fields: the
# segments step re-checks customer conditions only after these.
PROFILE_TYPES = (
    ACTIVITY_TYPES
    | POLICY_TYPES
    | {
        "customer_dormant",
        "customer_churned",
        "unsubscribed",
        "email_bounced",
        "call_completed",
        "email_sent",
        "email_opened",
        "email_clicked",
        "complaint",
        CONSENT_CHANGED,
    }
)
POLICY_STATUS = {
    "policy_matured": "matured",
    "policy_cancelled": "cancelled",
    "policy_renewed": "active",
}


class ProfileStep:
    """The first step: loads and locks the chunk's visitors and customers, in key order,
    in two queries (the lock order of ``worker/process.py``), then applies each event."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        events = chunk.events
        for row in _lock(chunk, col(Identity.visitor_id), {e.visitor_id for e in events}):
            chunk.identities[row.visitor_id] = row
        for row in _lock(chunk, col(Customer.customer_id), {e.customer_id for e in events}):
            chunk.customers[row.customer_id] = row

    def apply(self, event: Event) -> None:
        """Update visitor and customer from one event."""
        apply_profile(self.chunk, event)


def _lock(chunk: Chunk, key: Any, values: set[str | None]) -> list[Any]:
    wanted = sorted(v for v in values if v)
    if not wanted:
        return []
    query = select(key.class_).where(among(chunk.dialect, key, wanted)).order_by(key)
    return list(chunk.session.exec(query.with_for_update()).all())


def apply_profile(chunk: Chunk, event: Event) -> None:
    """Update visitor and customer from one event."""
    session = chunk.session
    if event.visitor_id:
        _touch_visitor(chunk, event)
    if not event.customer_id:
        return
    customer = _customer(chunk, event)
    if event.type in ACTIVITY_TYPES:
        _touch_activity(customer, event.occurred_at)
    elif event.type in SILENCE:
        _fall_silent(customer, event)
    elif event.type in ("unsubscribed", "email_bounced", "call_completed"):
        _suppress(customer, event)
    elif event.type in ("email_sent", "email_opened", "email_clicked"):
        _email_streak(customer, event)
    elif event.type == CONSENT_CHANGED:
        apply_consent(session, customer, event)
    elif event.type == "complaint":
        # The contact policy pauses advertising from here (COMPLAINT_PAUSE_DAYS).
        customer.attributes = {
            **customer.attributes,
            "complained_at": event.occurred_at.isoformat(),
        }
    if event.type == "signup" and customer.joined_at is None:
        customer.joined_at = event.occurred_at
    if event.type in ("policy_purchased", "policy_renewed"):
        held = _record_policy(session, customer, event)
        tiers.refresh(session, customer, event.occurred_at, held)  # an override stays
    elif event.type in POLICY_STATUS:
        _set_policy_status(session, event)
        tiers.refresh(session, customer, event.occurred_at)


def _touch_visitor(chunk: Chunk, event: Event) -> None:
    assert event.visitor_id is not None
    ident = chunk.identity(event.visitor_id)
    if ident is None:
        return
    gap = timedelta(minutes=get_settings().session_gap_minutes)
    at = event.occurred_at
    if ident.visits == 0 or at - ident.last_seen_at > gap:  # type: ignore[operator]
        ident.visits += 1
    if at > ident.last_seen_at:  # type: ignore[operator]
        ident.last_seen_at = at
    if at < ident.first_seen_at:  # type: ignore[operator]
        ident.first_seen_at = at
    chunk.session.add(ident)


def _customer(chunk: Chunk, event: Event) -> Customer:
    assert event.customer_id is not None
    session = chunk.session
    customer = chunk.customer(event.customer_id)
    if customer is None:
        # An event may name a customer the CRM has not exported yet: keep it as a member.
        customer = Customer(
            customer_id=event.customer_id, lifecycle_stage=LifecycleStage.MEMBER.value
        )
        session.add(customer)
        session.flush()
        chunk.customers[customer.customer_id] = customer
    return customer


def _touch_activity(customer: Customer, at: datetime) -> None:
    if customer.last_seen_at is None or at > customer.last_seen_at:
        customer.last_seen_at = at
    if customer.activity_status in (ActivityStatus.DORMANT, ActivityStatus.CHURNED):
        customer.activity_status = ActivityStatus.REACTIVATED.value


def _email_streak(customer: Customer, event: Event) -> None:
    """E-mails sent in a row without an open or click (the e-mail-unresponsive segment
    prefers SMS past 3); a scanner's pre-fetch does not count as a response."""
    if event.properties.get("suspected_bot") is True:
        return
    streak = int(customer.attributes.get("emails_unopened", 0))
    streak = streak + 1 if event.type == "email_sent" else 0
    if streak != customer.attributes.get("emails_unopened", 0):  # no write for nothing
        customer.attributes = {**customer.attributes, "emails_unopened": streak}


def _suppress(customer: Customer, event: Event) -> None:
    """Responses that stop a channel for this customer; the contact policy reads the flags
    (see ``delivery/policy.py``) before every send, so they take effect at once."""
    props = event.properties
    flag = None
    if event.type == "unsubscribed":
        flag = "unsubscribed_sms" if props.get("channel") == "sms" else "unsubscribed"
    elif event.type == "email_bounced" and props.get("bounce", "hard") == "hard":
        flag = "hard_bounced"
    elif event.type == "call_completed" and props.get("outcome") == "do_not_call":
        flag = "do_not_call"
    if flag and not customer.attributes.get(flag):
        customer.attributes = {**customer.attributes, flag: event.occurred_at.isoformat()}


def _fall_silent(customer: Customer, event: Event) -> None:
    status, moves_from = SILENCE[event.type]
    if customer.activity_status not in moves_from:
        return
    # The job saw the customer's last activity; one that came after it wins.
    seen = event.properties.get("last_seen_at")
    if customer.last_seen_at is not None and seen and customer.last_seen_at > _parse(seen):
        return
    customer.activity_status = status.value


def _parse(text: str) -> datetime:
    return clock.to_utc(datetime.fromisoformat(text))


def _record_policy(session: Session, customer: Customer, event: Event) -> list[Policy]:
    """The purchased or renewed policy recorded, the ladder moved; the customer's
    policies, for the tier."""
    props = event.properties
    policy = session.get(Policy, props["policy_id"])
    if policy is None:
        policy = Policy(policy_id=props["policy_id"], customer_id=customer.customer_id)
    policy.status = "active"
    code = props.get("product")
    if code and session.get(Product, code) is not None:
        policy.product_code = code
    elif code:
        policy.attributes = {**policy.attributes, "product": code}
    policy.start_date = (
        _date(props.get("start_date")) or policy.start_date or event.occurred_at.date()
    )
    policy.maturity_date = _date(props.get("maturity_date")) or policy.maturity_date
    policy.premium = _decimal(props.get("premium")) or policy.premium
    session.add(policy)
    session.flush()
    held = tiers.policies_of(session, customer)
    stage = stage_for_policy_count(len(held))
    if event.type == "policy_renewed":
        stage = LifecycleStage.REPEAT
    if customer.first_policy_at is None:
        customer.first_policy_at = event.occurred_at
    promote(customer, stage)
    return held


def _set_policy_status(session: Session, event: Event) -> None:
    policy = session.get(Policy, event.properties["policy_id"])
    if policy is not None:
        policy.status = POLICY_STATUS[event.type]
        session.add(policy)


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
