"""Delivering one message: claim it, ask the contact policy, render, hand it to the
channel, record what happened. The only code that talks to the channels, and only
through their declarations (``channels/base.py``).

The claim, the policy check and (for a call) the task are one transaction with the
customer's row locked, so two messages to one customer are checked one after the
other against the caps. The send itself is outside any transaction; ``sent`` is
recorded right after it (see ``ledger.py`` for the crash window between the two).
A message whose channel is paused is released unattempted (``pause.py``); a failed
send is recorded by what it means (``failures.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from automation import clock
from automation.channels.base import CHANNELS, Channel, Rendered
from automation.channels.errors import DeliveryError
from automation.channels.jinja import TemplateProblem
from automation.config import get_settings
from automation.db import session_scope
from automation.delivery import ledger, pause
from automation.delivery.call_center import open_task
from automation.delivery.content import template_context
from automation.delivery.failures import failed, hold
from automation.delivery.policy import DEFER, SUPPRESS, decide
from automation.events.catalog import email_sent
from automation.events.ingest import ingest
from automation.events.schema import EventIn
from automation.models import Customer, Message, MessageStatus

log = logging.getLogger(__name__)
S = MessageStatus


def deliver(message_id: int) -> ledger.Outcome:
    """Deliver one message if it is waiting and its time has come; else do nothing."""
    outcome, sent = _deliver_one(message_id)
    _record_sent([sent] if sent is not None else [])
    return outcome


def deliver_many(message_ids: list[int]) -> list[ledger.Outcome]:
    """Deliver several messages (what one actor message carries); one message's bug does
    not hold the others back, and their ``email_sent`` events go to ingest together."""
    outcomes, sent = [], []
    for message_id in message_ids:
        try:
            outcome, event = _deliver_one(message_id)
        except Exception as exc:
            log.exception("message %s: delivery failed", message_id)
            outcome, event = ledger.Outcome(message_id, "error", f"{type(exc).__name__}"), None
        outcomes.append(outcome)
        if event is not None:
            sent.append(event)
    _record_sent(sent)
    return outcomes


@dataclass(frozen=True)
class _Work:
    """What to send once the claim's transaction has committed."""

    channel: Channel
    rendered: Rendered
    address: str
    key: str
    attempts: int


def _deliver_one(message_id: int) -> tuple[ledger.Outcome, EventIn | None]:
    now = clock.now()
    with session_scope() as session:
        conn = session.connection()
        if not ledger.claim(conn, message_id, now):
            return ledger.Outcome(message_id, "skipped"), None
        message = session.get(Message, message_id)
        assert message is not None
        held = pause.in_force(conn, message.channel, now)
        if held is not None:
            reason = hold(conn, message_id, held, now)
            return ledger.Outcome(message_id, S.DEFERRED.value, reason), None
        customer = session.exec(
            select(Customer).where(Customer.customer_id == message.customer_id).with_for_update()
        ).one()
        outcome, work = _prepare(session, message, customer, now)
        if outcome is not None:
            return outcome, None
    assert work is not None
    outcome = _send(message_id, work, now)
    if outcome.status == S.SENT.value and work.channel.records_sent:
        return outcome, sent_event(message)
    return outcome, None


def _prepare(
    session: Session, message: Message, customer: Customer, now: datetime
) -> tuple[ledger.Outcome | None, _Work | None]:
    """Render and check the message in the claim's transaction: an outcome if it ends
    here (suppressed, deferred, failed, a call task opened), else what to send."""
    conn = session.connection()
    channel = CHANNELS[message.channel]

    def end(status: MessageStatus, reason: str | None = None, **kw: Any) -> ledger.Outcome:
        ledger.settle(conn, message.id, status, now, reason=reason, **kw)  # type: ignore[arg-type]
        return ledger.Outcome(message.id, status.value, reason)  # type: ignore[arg-type]

    rendered: Rendered | None = None
    if channel.render is not None:
        context = template_context(session, message, customer)
        try:
            rendered = channel.render(message.template or "", context)
        except TemplateProblem as exc:
            return end(S.FAILED, f"template: {exc}"), None
    advertising = rendered.advertising if rendered is not None else False
    sent = ledger.already_sent(conn, message, customer.timezone or get_settings().timezone, now)
    verdict = decide(customer, channel, advertising, sent, now)
    if verdict.action == SUPPRESS:
        return end(S.SUPPRESSED, verdict.reason), None
    if verdict.action == DEFER:
        return end(S.DEFERRED, verdict.reason, until=verdict.until), None
    if channel.opens_task:
        open_task(session, message, customer)
        return end(S.SENT, provider_id=f"task:{message.id}"), None
    assert rendered is not None and channel.address_field is not None
    address = getattr(customer, channel.address_field)
    if not address:
        return end(S.FAILED, f"no_{channel.address_field}"), None
    work = _Work(channel, rendered, address, message.idempotency_key, message.attempts)
    return None, work


def _send(message_id: int, work: _Work, now: datetime) -> ledger.Outcome:
    assert work.channel.send is not None
    try:
        provider_id = work.channel.send(
            work.rendered, to=work.address, message_id=message_id, message_key=work.key
        )
    except DeliveryError as exc:
        return failed(message_id, work.channel, work.attempts, exc, now)
    with session_scope() as session:
        ledger.settle(
            session.connection(), message_id, S.SENT, clock.now(), provider_id=provider_id
        )
    return ledger.Outcome(message_id, S.SENT.value)


def sent_event(message: Message, at: datetime | None = None) -> EventIn:
    """The ``email_sent`` event of a message handed to the SMTP server (at ``at``)."""
    assert message.id is not None
    return email_sent(
        message.id,
        message.customer_id,
        at or clock.now(),
        template=message.template,
        journey_id=message.journey_id,
        enrollment_id=message.enrollment_id,
    )


def _record_sent(events: list[EventIn]) -> None:
    if events:
        ingest(events, source="delivery")
