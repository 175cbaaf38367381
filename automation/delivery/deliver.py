"""Delivering one message: claim it, ask the contact policy, render, hand it to the
channel, record what happened. The only code that talks to the channels.

The claim, the policy check and (for a call) the task are one transaction with the
customer's row locked, so two messages to one customer are checked one after the
other against the caps. The send itself is outside any transaction; ``sent`` is
recorded right after it (see ``ledger.py`` for the crash window between the two).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from automation import clock
from automation.channels.email import build_email
from automation.channels.errors import PermanentDeliveryError, TransientDeliveryError
from automation.channels.sms import OutgoingSms, get_gateway
from automation.channels.smtp import get_sender
from automation.channels.templates import TemplateProblem, render_email, render_sms
from automation.config import get_settings
from automation.db import session_scope
from automation.delivery import ledger
from automation.delivery.content import preference_report, template_context
from automation.delivery.policy import DEFER, SUPPRESS, decide
from automation.events.ingest import ingest
from automation.models import CallTask, Customer, Message, MessageStatus

log = logging.getLogger(__name__)
S = MessageStatus


def deliver(message_id: int) -> ledger.Outcome:
    """Deliver one message if it is waiting and its time has come; else do nothing."""
    outcome, sent = _deliver_one(message_id)
    _record_sent([sent] if sent else [])
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
        if event:
            sent.append(event)
    _record_sent(sent)
    return outcomes


def _deliver_one(message_id: int) -> tuple[ledger.Outcome, dict[str, Any] | None]:
    now = clock.now()
    with session_scope() as session:
        conn = session.connection()
        if not ledger.claim(conn, message_id, now):
            return ledger.Outcome(message_id, "skipped"), None
        message = session.get(Message, message_id)
        assert message is not None
        customer = session.exec(
            select(Customer).where(Customer.customer_id == message.customer_id).with_for_update()
        ).one()
        outcome, work = _prepare(session, message, customer, now)
        if outcome is not None:
            return outcome, None
    assert work is not None
    outcome = _send(message_id, message.channel, work, now)
    if outcome.status == S.SENT.value and message.channel == "email":
        return outcome, _sent_event(message)  # the e-mail-unresponsive segment counts these
    return outcome, None


def _prepare(
    session: Session, message: Message, customer: Customer, now: datetime
) -> tuple[ledger.Outcome | None, Any]:
    """Render and check the message in the claim's transaction: an outcome if it ends
    here (suppressed, deferred, failed, a call task created), else what to send."""
    conn = session.connection()

    def end(status: MessageStatus, reason: str | None = None, **kw: Any) -> ledger.Outcome:
        ledger.settle(conn, message.id, status, now, reason=reason, **kw)  # type: ignore[arg-type]
        return ledger.Outcome(message.id, status.value, reason)  # type: ignore[arg-type]

    context = template_context(session, message, customer)
    rendered: Any = None
    advertising = False
    try:
        if message.channel == "email":
            rendered = render_email(message.template or "", context)
        elif message.channel == "sms":
            rendered = render_sms(message.template or "", context)
    except TemplateProblem as exc:
        return end(S.FAILED, f"template: {exc}"), None
    if rendered is not None:
        advertising = rendered.advertising
    sent = ledger.already_sent(conn, message, customer.timezone or get_settings().timezone, now)
    verdict = decide(customer, message.channel, advertising, sent, now)
    if verdict.action == SUPPRESS:
        return end(S.SUPPRESSED, verdict.reason), None
    if verdict.action == DEFER:
        return end(S.DEFERRED, verdict.reason, until=verdict.until), None
    if message.channel == "call":
        _open_task(session, message, customer)
        return end(S.SENT, provider_id=f"task:{message.id}"), None
    address = customer.email if message.channel == "email" else customer.mobile
    if not address:
        return end(S.FAILED, f"no_{'email' if message.channel == 'email' else 'mobile'}"), None
    return None, (rendered, address, message.idempotency_key, message.attempts)


def _send(message_id: int, channel: str, work: Any, now: datetime) -> ledger.Outcome:
    rendered, address, key, attempts = work
    try:
        if channel == "email":
            mail = build_email(rendered, to=address, message_id=message_id, message_key=key)
            provider_id = get_sender().send_sync(mail)
        else:
            provider_id = get_gateway().send(OutgoingSms.of(rendered, to=address, message_key=key))
    except TransientDeliveryError as exc:
        return _transient(message_id, attempts, exc.reason, now)
    except PermanentDeliveryError as exc:
        return _permanent(message_id, channel, exc.reason, now)
    with session_scope() as session:
        ledger.settle(
            session.connection(), message_id, S.SENT, clock.now(), provider_id=provider_id
        )
    return ledger.Outcome(message_id, S.SENT.value)


def _sent_event(message: Message) -> dict[str, Any]:
    return {
        "event_id": f"sent:{message.id}",
        "type": "email_sent",
        "occurred_at": clock.now().isoformat(),
        "customer_id": message.customer_id,
        "properties": {
            "message_id": message.id,
            "template": message.template,
            "journey_id": message.journey_id,
            "enrollment_id": message.enrollment_id,
        },
    }


def _record_sent(events: list[dict[str, Any]]) -> None:
    if events:
        ingest(events, source="delivery")


def _transient(message_id: int, attempts: int, reason: str, now: datetime) -> ledger.Outcome:
    with session_scope() as session:
        conn = session.connection()
        if attempts >= get_settings().delivery_max_attempts:
            why = f"gave up after {attempts} attempts: {reason}"
            ledger.settle(conn, message_id, S.FAILED, now, reason=why)
            return ledger.Outcome(message_id, S.FAILED.value, why)
        until = ledger.retry_at(attempts, now)
        ledger.settle(conn, message_id, S.DEFERRED, now, reason=f"retry: {reason}", until=until)
    log.info("message %s: transient failure (%s); again at %s", message_id, reason, until)
    return ledger.Outcome(message_id, S.DEFERRED.value, f"retry: {reason}")


def _permanent(message_id: int, channel: str, reason: str, now: datetime) -> ledger.Outcome:
    status = S.BOUNCED if channel == "email" else S.FAILED
    with session_scope() as session:
        ledger.settle(session.connection(), message_id, status, now, reason=reason)
        message = session.get(Message, message_id)
    if channel == "email" and message is not None:
        # The response loop learns of it like of any other response: as an event.
        ingest(
            [
                {
                    "event_id": f"bounce:{message_id}",
                    "type": "email_bounced",
                    "occurred_at": now.isoformat(),
                    "customer_id": message.customer_id,
                    "properties": {
                        "message_id": message_id,
                        "bounce": "hard",
                        "reason": reason[:300],
                        "journey_id": message.journey_id,
                        "enrollment_id": message.enrollment_id,
                    },
                }
            ],
            source="delivery",
        )
    return ledger.Outcome(message_id, status.value, reason)


def _open_task(session: Session, message: Message, customer: Customer) -> None:
    if session.exec(select(CallTask).where(CallTask.message_id == message.id)).first():
        return  # re-opened after a crash: the task is there already
    due = message.payload.get("due_at")
    session.add(
        CallTask(
            message_id=message.id,  # type: ignore[arg-type]
            customer_id=customer.customer_id,
            queue=str(message.payload.get("queue", "default")),
            priority=str(message.payload.get("priority", "normal")),
            due_at=clock.to_utc(datetime.fromisoformat(due)) if due else clock.now(),
            journey_id=message.journey_id,
            state=message.state,
            report=preference_report(session, customer),
        )
    )
    session.flush()
