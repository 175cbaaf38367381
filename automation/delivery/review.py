"""Review items: messages a worker left ``sending`` (it died between the send and the
record), moved to ``review`` after ``SENDING_GRACE_SECONDS`` and never sent again on
their own (``ledger.resolve_stuck``).

An operator looks each one up in the server's log, by its ``Message-ID`` (an e-mail's
is derived from the message key, ``channels/email.py``) or its message key (an SMS's,
given to the gateway) around the time it was claimed, and resolves it:

- **sent** (the log shows it delivered): ``sent`` at the time it was claimed, with its
  ``email_sent`` event (``sent:<id>``, so recording it twice stores it once);
- **resend** (it does not): back to ``queued``, not offered yet, so the relay offers
  it on its next run and it is claimed, checked against the contact policy and sent
  once like any other.

Both are conditional on the message still being in review, and record who and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from automation import clock
from automation.channels.base import CHANNELS, EMAIL
from automation.channels.email import message_id_header
from automation.config import get_settings
from automation.db import session_scope
from automation.delivery import ledger
from automation.delivery.deliver import sent_event
from automation.errors import AutomationError, NotFound, ValidationError
from automation.events.ingest import ingest
from automation.models import Message, MessageStatus

S = MessageStatus


class UnknownMessage(NotFound):
    """No message has this id."""


class NotInReview(AutomationError):
    """The message is not (or no longer) in review."""


@dataclass(frozen=True)
class ReviewItem:
    """A message in review, with what to look for in the server's log."""

    message_id: int
    customer_id: str
    channel: str
    template: str | None
    journey_id: str | None
    claimed_at: datetime | None  # when the worker took it: the mail left about then
    created_at: datetime | None
    look_for: str  # an e-mail's Message-ID header; an SMS's message key
    reason: str | None


def in_review(limit: int = 1000) -> list[ReviewItem]:
    """Messages in review, oldest first."""
    sender = get_settings().sender_address
    with session_scope() as session:
        rows = session.exec(
            select(Message)
            .where(Message.status == S.REVIEW.value)
            .order_by(col(Message.id))
            .limit(limit)
        ).all()
        return [_item(m, sender) for m in rows]


def resolve_sent(message_id: int, *, reason: str, by: str) -> ReviewItem:
    """The server's log shows it delivered: record it ``sent`` (and its ``email_sent``)."""
    item, message = _resolve(message_id, S.SENT, "sent", reason, by)
    if CHANNELS[message.channel].records_sent:
        ingest([sent_event(message, item.claimed_at)], source="delivery")
    return item


def resolve_resend(message_id: int, *, reason: str, by: str) -> ReviewItem:
    """The server's log does not show it: ``queued`` again, to be sent once."""
    item, _ = _resolve(message_id, S.QUEUED, "resend", reason, by)
    return item


def _resolve(
    message_id: int, status: MessageStatus, verb: str, reason: str, by: str
) -> tuple[ReviewItem, Message]:
    if not reason.strip():
        raise ValidationError("say why (what the server's log shows): --reason")
    why = f"resolved {verb} by {by}: {reason.strip()}"
    now = clock.now()
    with session_scope() as session:
        message = session.get(Message, message_id)
        if message is None:
            raise UnknownMessage(f"no message {message_id}")
        item = _item(message, get_settings().sender_address)
        at = message.updated_at or now  # the claim's time, kept by resolve_stuck
        done = ledger.from_review(
            session.connection(), message_id, status, now, reason=why, sent_at=at
        )
        if not done:
            session.refresh(message)
            raise NotInReview(f"message {message_id} is {message.status}, not in review")
        session.expunge(message)
    return item, message


def _item(message: Message, sender: str) -> ReviewItem:
    assert message.id is not None
    key = message.idempotency_key
    # The Message-ID is e-mail's own: derived from the key and the sender's domain.
    look_for = message_id_header(key, sender) if message.channel == EMAIL.name else key
    return ReviewItem(
        message.id,
        message.customer_id,
        message.channel,
        message.template,
        message.journey_id,
        message.updated_at,
        message.created_at,
        look_for,
        message.reason,
    )
