"""A failed send, recorded by its verdict (``classify.py``): retried later, bounced
(the customer's ``email_bounced``), failed alone, or failed with an alert and the
channel paused (a sender-side failure)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from automation.channels.base import Channel
from automation.channels.errors import DeliveryError, SmtpFailure
from automation.config import get_settings
from automation.db import session_scope
from automation.delivery import ledger, pause
from automation.delivery.classify import Verdict, judge
from automation.events.catalog import email_bounced
from automation.events.ingest import ingest
from automation.metrics import MESSAGES_HELD, SMTP_FAILURES
from automation.models import Message, MessageStatus

log = logging.getLogger(__name__)
S = MessageStatus


def failed(
    message_id: int, channel: Channel, attempts: int, error: DeliveryError, now: datetime
) -> ledger.Outcome:
    """Record a send that raised ``error``."""
    verdict = judge(error)
    if isinstance(error, SmtpFailure):
        reply = " ".join(str(p) for p in (error.code, error.enhanced) if p is not None)
        SMTP_FAILURES.labels(error.stage.value, reply or "none", verdict.value).inc()
    if verdict == Verdict.RETRY:
        return transient(message_id, attempts, error.reason, now)
    if verdict == Verdict.SENDER and isinstance(error, SmtpFailure):
        return _senders(message_id, channel, error, now)
    if verdict == Verdict.BOUNCE and channel.bounces:
        return _bounce(message_id, error.reason, now)
    with session_scope() as session:
        ledger.settle(session.connection(), message_id, S.FAILED, now, reason=error.reason)
    log.warning("message %s: failed (%s): %s", message_id, verdict.value, error.reason)
    return ledger.Outcome(message_id, S.FAILED.value, error.reason)


def transient(message_id: int, attempts: int, reason: str, now: datetime) -> ledger.Outcome:
    """Deferred with a doubling wait, or failed after ``DELIVERY_MAX_ATTEMPTS``."""
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


def hold(conn: Connection, message_id: int, held: pause.Pause, now: datetime) -> str:
    """Release a message claimed while its channel is paused; returns the reason."""
    reason = pause.held_reason(held.channel)
    ledger.release(conn, message_id, now, reason=reason, until=held.ends(now))
    MESSAGES_HELD.labels(held.channel).inc()
    return reason


def _bounce(message_id: int, reason: str, now: datetime) -> ledger.Outcome:
    with session_scope() as session:
        ledger.settle(session.connection(), message_id, S.BOUNCED, now, reason=reason)
        message = session.get(Message, message_id)
    if message is not None:
        # The response loop learns of it like of any other response: as an event.
        bounce = email_bounced(
            message_id,
            message.customer_id,
            now,
            reason,
            journey_id=message.journey_id,
            enrollment_id=message.enrollment_id,
        )
        ingest([bounce], source="delivery")
    return ledger.Outcome(message_id, S.BOUNCED.value, reason)


def _senders(
    message_id: int, channel: Channel, failure: SmtpFailure, now: datetime
) -> ledger.Outcome:
    """Ours: the first message to meet it fails with the reason and pauses the channel;
    one that meets it while the channel is already paused waits for the pause."""
    until = now + timedelta(seconds=get_settings().channel_pause_seconds)
    with session_scope() as session:
        conn = session.connection()
        paused = pause.pause(
            conn, channel.name, now, until=until, reason=failure.reason, by=pause.AUTO
        )
        held = None if paused else pause.in_force(conn, channel.name, now)
        if held is not None:
            reason = hold(conn, message_id, held, now)
            status = S.DEFERRED
        else:
            reason = f"sender: {failure.reason}"
            status = S.FAILED
            ledger.settle(conn, message_id, status, now, reason=reason)
    if paused:
        log.error(
            "%s paused until %s: the SMTP server refused us at %s: %s %s (message %s "
            "failed; no customer marked bounced). Fix the cause, then "
            "`automation messages resume %s`",
            channel.name,
            until.isoformat(),
            failure.stage.value,
            failure.code if failure.code is not None else "-",
            failure.text,
            message_id,
            channel.name,
        )
    else:
        log.warning(
            "message %s: %s while %s is paused: %s",
            message_id,
            reason,
            channel.name,
            failure.reason,
        )
    return ledger.Outcome(message_id, status.value, reason)
