"""The events the system itself emits: one constructor each, owning its type and id.

An id names what happened and when, so emitting the same fact twice stores it once
(ingest and :func:`automation.events.store.emit` skip a known ``event_id``). Ids by
source:

=======================  ==============================================================
delivery                 ``sent:<message>``, ``bounce:<message>``
tracking                 ``open:<message>[:bot]``, ``click:<message>:<url hash>:<minute>[:bot]``,
                         ``unsubscribe:<message>``, ``sms:<message>:<status or reply hash>``
call center              ``call:<task>``, ``service:<task>`` (a service task's outcome)
consents                 ``consent-change:<customer>:<kind>:<request>`` (an operator's change)
journeys                 ``journey:<message key>`` (an ``emit`` action)
segments                 ``segment:<segment>:<customer>:<entered|exited>:<tag>``
scheduler                ``timer:<timer>``, ``maturity:<policy>:<date>``,
                         ``matured:<policy>:<date>``, ``anniversary:<kind>:<subject>:<year>``,
                         ``dormant:<customer>:<date>``, ``churned:<customer>:<date>``,
                         ``consent:<expiring|expired>:<customer>:<date>``
=======================  ==============================================================
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String, cast, literal
from sqlalchemy.sql.elements import ColumnElement

from automation.events.schema import EventIn

BOT_SUFFIX = ":bot"  # a suspected scanner's fetch: it cannot take the customer's own id


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _event(
    event_id: str, type_: str, at: datetime, customer_id: str, properties: dict[str, Any]
) -> EventIn:
    return EventIn(event_id, type_, _utc(at), None, customer_id, properties)


# --- delivery ----------------------------------------------------------------------------


def email_sent(message_id: int, customer_id: str, at: datetime, **about: Any) -> EventIn:
    """An e-mail handed to the SMTP relay (the e-mail-unresponsive streak counts these)."""
    return _event(
        f"sent:{message_id}", "email_sent", at, customer_id, {"message_id": message_id, **about}
    )


def email_bounced(
    message_id: int, customer_id: str, at: datetime, reason: str, **about: Any
) -> EventIn:
    """A permanent refusal of the recipient: the profile sets ``hard_bounced``."""
    props = {"message_id": message_id, "bounce": "hard", "reason": reason[:300], **about}
    return _event(f"bounce:{message_id}", "email_bounced", at, customer_id, props)


# --- tracking ----------------------------------------------------------------------------


def email_opened(
    message_id: int, customer_id: str, at: datetime, properties: dict[str, Any], *, bot: bool
) -> EventIn:
    """One open per message (and one for a scanner, kept apart)."""
    event_id = f"open:{message_id}" + (BOT_SUFFIX if bot else "")
    return _event(event_id, "email_opened", at, customer_id, properties)


def email_clicked(
    message_id: int,
    customer_id: str,
    at: datetime,
    url: str,
    properties: dict[str, Any],
    *,
    bot: bool,
) -> EventIn:
    """A click on ``url``: a double click or a retried request within the minute is one."""
    url_hash = hashlib.sha1(url.encode()).hexdigest()[:12]
    minute = _utc(at).strftime("%Y%m%d%H%M")
    event_id = f"click:{message_id}:{url_hash}:{minute}" + (BOT_SUFFIX if bot else "")
    return _event(event_id, "email_clicked", at, customer_id, {**properties, "url": url})


def unsubscribed(
    message_id: int, customer_id: str, at: datetime, properties: dict[str, Any]
) -> EventIn:
    """The customer refused the message's channel (one per message)."""
    return _event(f"unsubscribe:{message_id}", "unsubscribed", at, customer_id, properties)


def sms_reported(
    message_id: int,
    customer_id: str,
    at: datetime,
    type_: str,
    detail: str,
    properties: dict[str, Any],
) -> EventIn:
    """A gateway's report on an SMS: delivered, failed, or a reply (``detail`` names it)."""
    return _event(f"sms:{message_id}:{detail}", type_, at, customer_id, properties)


def reply_detail(reply: str) -> str:
    """The id part that tells one reply from another."""
    return hashlib.sha1(reply.encode()).hexdigest()[:12]


# --- call center -------------------------------------------------------------------------


def call_completed(
    task_id: int, customer_id: str, at: datetime, properties: dict[str, Any]
) -> EventIn:
    """An agent's outcome of a call task (one per task)."""
    return _event(f"call:{task_id}", "call_completed", at, customer_id, properties)


def service_completed(
    task_id: int, customer_id: str, at: datetime, properties: dict[str, Any]
) -> EventIn:
    """An agent's answer to a complaint or an inquiry (one per task): its category and
    outcome (resolved, escalated, callback)."""
    return _event(f"service:{task_id}", "service_completed", at, customer_id, properties)


# --- consents ----------------------------------------------------------------------------


def consent_changed(
    customer_id: str, kind: str, granted: bool, at: datetime, request: str, **about: Any
) -> EventIn:
    """A consent granted or withdrawn through the API or the console; ``request`` tells
    one change from another (each PATCH is its own act, even in the same instant), and
    ``about`` says who made it and how the customer gave it (``source``, ``by``)."""
    props = {"kind": kind, "granted": granted, **about}
    event_id = f"consent-change:{customer_id}:{kind}:{request}"
    return _event(event_id, "consent_changed", at, customer_id, props)


# --- journeys and segments ---------------------------------------------------------------


def journey_emitted(
    message_key: str, type_: str, customer_id: str, at: datetime, properties: dict[str, Any]
) -> EventIn:
    """An event a journey's ``emit`` action stores (once per enrollment step and action)."""
    return _event(f"journey:{message_key}", type_, at, customer_id, properties)


def segment_changed(
    segment_id: str, customer_id: str, entered: bool, at: datetime, tag: str
) -> EventIn:
    """``segment_entered`` / ``segment_exited``; ``tag`` names the cause (an event, a
    refresh), so the same change for the same cause is stored once."""
    kind = "entered" if entered else "exited"
    event_id = f"segment:{segment_id}:{customer_id}:{kind}:{tag}"
    return _event(event_id, f"segment_{kind}", at, customer_id, {"segment": segment_id})


# --- the scheduler's jobs ----------------------------------------------------------------


def timer_due(
    timer_id: int, customer_id: str, due_at: datetime, enrollment_id: int, step: int, kind: str
) -> EventIn:
    """A journey timer that came due (the engine moves its enrollment if still there). It
    carries what the engine checks of the timer (the enrollment, the step it was set
    at, its kind), so the engine need not read the timer's row back."""
    props = {"timer_id": timer_id, "enrollment_id": enrollment_id, "step": step, "kind": kind}
    return _event(f"timer:{timer_id}", "timer_due", due_at, customer_id, props)


MATURITY_PREFIX = {"policy_maturity_approaching": "maturity", "policy_matured": "matured"}


def maturity(
    type_: str, policy_id: str, customer_id: str, maturity_date: date, at: datetime
) -> EventIn:
    """``policy_maturity_approaching`` or ``policy_matured`` for one policy and date."""
    event_id = f"{MATURITY_PREFIX[type_]}:{policy_id}:{maturity_date.isoformat()}"
    props = {"policy_id": policy_id, "maturity_date": maturity_date.isoformat()}
    return _event(event_id, type_, at, customer_id, props)


def maturity_id_sql(type_: str, policy_id: Any, maturity_date: Any) -> ColumnElement[Any]:
    """The id :func:`maturity` gives, built in SQL from a policy's columns (so a job can
    leave out policies whose event is stored)."""
    return (
        literal(f"{MATURITY_PREFIX[type_]}:")
        + policy_id
        + literal(":")
        + cast(maturity_date, String)
    )


def anniversary(
    kind: str,
    subject: str,
    customer_id: str,
    day: date,
    since: date,
    at: datetime,
    **extra: str,
) -> EventIn:
    """A birthday, policy or sign-up anniversary on ``day`` (one per subject and year)."""
    props = {"kind": kind, "date": day.isoformat(), "years": day.year - since.year, **extra}
    event_id = f"anniversary:{kind}:{subject}:{day.year}"
    return _event(event_id, "customer_anniversary", at, customer_id, props)


ACTIVITY_PREFIX = {"customer_dormant": "dormant", "customer_churned": "churned"}


def fell_silent(type_: str, customer_id: str, last_seen: datetime, at: datetime) -> EventIn:
    """``customer_dormant`` / ``customer_churned``, once per customer and last visit."""
    seen = _utc(last_seen)
    props = {"last_seen_at": seen.isoformat(), "silent_days": (at - seen).days}
    event_id = f"{ACTIVITY_PREFIX[type_]}:{customer_id}:{seen.date().isoformat()}"
    return _event(event_id, type_, at, customer_id, props)


def ad_consent(
    type_: str, customer_id: str, given: datetime, expires: datetime, at: datetime
) -> EventIn:
    """``ad_consent_expiring`` / ``ad_consent_expired``, once per consent given; a late
    run says when it was noticed, the lapse itself is in the properties."""
    kind = type_.removeprefix("ad_consent_")
    props = {
        "consent": "ad",
        "given_at": _utc(given).isoformat(),
        "expires_at": _utc(expires).isoformat(),
    }
    event_id = f"consent:{kind}:{customer_id}:{_utc(given).date().isoformat()}"
    return _event(event_id, type_, at, customer_id, props)
