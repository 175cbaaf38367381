"""Delivering messages: claim them, ask the contact policy, render (``prepare.py``,
one transaction for a batch), hand each to its channel, record what happened. The only
code that talks to the channels, and only through their declarations
(``channels/base.py``).

The send itself is outside any transaction; the batch's ``sent`` records are one
statement right after its sends (see ``ledger.py`` for the crash window between the
two), and its ``email_sent`` events go to ingest together. A message whose channel is
paused is released unattempted (``pause.py``), also when a failure of this batch paused
it; a failed send is recorded by what it means (``failures.py``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from automation import clock
from automation.channels.errors import DeliveryError
from automation.db import get_engine, session_scope
from automation.delivery import ledger, pause
from automation.delivery.failures import failed, hold
from automation.delivery.prepare import Work, prepare
from automation.events.catalog import email_sent
from automation.events.ingest import ingest
from automation.events.schema import EventIn
from automation.models import Message, MessageStatus

log = logging.getLogger(__name__)
S = MessageStatus


def deliver(message_id: int) -> ledger.Outcome:
    """Deliver one message if it is waiting and its time has come; else do nothing."""
    [outcome] = _deliver_batch([message_id])
    return outcome


def deliver_many(message_ids: list[int]) -> list[ledger.Outcome]:
    """Deliver several messages (what one actor message carries) as one batch: a
    constant number of statements for the claim, the checks and the records, whatever
    its size. If the batch fails as a whole (a bug, a database error), each message is
    tried on its own, so one message's bug does not hold the others back."""
    try:
        return _deliver_batch(message_ids)
    except Exception as exc:
        log.info("batch of %d failed (%s); one by one", len(message_ids), exc)
    outcomes = []
    for message_id in message_ids:
        try:
            outcomes.extend(_deliver_batch([message_id]))
        except Exception as exc:
            log.exception("message %s: delivery failed", message_id)
            outcomes.append(ledger.Outcome(message_id, "error", f"{type(exc).__name__}"))
    return outcomes


def _deliver_batch(message_ids: list[int]) -> list[ledger.Outcome]:
    now = clock.now()
    prepared = prepare(message_ids, now)
    outcomes = prepared.outcomes
    sent: list[ledger.Settle] = []
    events: list[EventIn] = []
    paused: dict[str, pause.Pause] = {}
    for work in prepared.works:
        mid = work.message_id
        held = paused.get(work.channel.name)
        if held is not None:  # a failure of this batch paused it: not attempted
            with session_scope() as session:
                reason = hold(session.connection(), mid, held, now)
            outcomes[mid] = ledger.Outcome(mid, S.DEFERRED.value, reason)
            continue
        try:
            provider_id = _send(work)
        except DeliveryError as exc:
            outcomes[mid] = failed(mid, work.channel, work.message.attempts, exc, now)
            if (found := _pause_of(work.channel.name, now)) is not None:
                paused[work.channel.name] = found
            continue
        except Exception as exc:  # a bug: left 'sending', so never sent twice
            log.exception("message %s: delivery failed", mid)
            outcomes[mid] = ledger.Outcome(mid, "error", f"{type(exc).__name__}")
            continue
        sent.append(ledger.Settle(mid, S.SENT, provider_id=provider_id))
        outcomes[mid] = ledger.Outcome(mid, S.SENT.value)
        if work.channel.records_sent:
            events.append(sent_event(work.message))
    if sent:
        # One statement for the batch's sends; a worker dying before it leaves them
        # 'sending', for review (ledger.py's crash window).
        with session_scope() as session:
            ledger.settle_many(session.connection(), sent, clock.now())
    if events:
        ingest(events, source="delivery")
    return [outcomes.get(i) or ledger.Outcome(i, "skipped") for i in message_ids]


def _send(work: Work) -> str:
    assert work.channel.send is not None
    return work.channel.send(
        work.rendered,
        to=work.address,
        message_id=work.message_id,
        message_key=work.message.idempotency_key,
    )


def _pause_of(channel: str, now: datetime) -> pause.Pause | None:
    """The channel's pause after a failed send (a sender-side failure sets one)."""
    with get_engine().connect() as conn:
        return pause.in_force(conn, channel, now)


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
