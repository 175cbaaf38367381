"""Delivering messages: claim them, ask the contact policy, render (``prepare.py``,
one transaction for a batch), hand each to its channel, record what happened. The only
code that talks to the channels, and only through their declarations
(``channels/base.py``).

The send itself is outside any transaction, and a batch's sends travel together
(``_Batch``). The batch's ``sent`` records are one statement right after its sends (see
``ledger.py`` for the crash window between the two), its ``email_sent`` events stored
in the same transaction and handed to the broker after it. A message whose channel is
paused is released unattempted (``pause.py``), also when a failure of this batch paused
it; a failed send is recorded by what it means (``failures.py``).
"""

from __future__ import annotations

import logging
from concurrent.futures import CancelledError, Future
from datetime import datetime
from queue import SimpleQueue

from automation import clock
from automation.channels.errors import DeliveryError, TransientDeliveryError
from automation.db import get_engine, session_scope
from automation.delivery import ledger, pause
from automation.delivery.failures import failed, hold
from automation.delivery.prepare import Work, prepare
from automation.events.catalog import email_sent
from automation.events.ingest import announce
from automation.events.schema import EventIn
from automation.events.store import insert_events
from automation.models import Message, MessageStatus

log = logging.getLogger(__name__)
S = MessageStatus
IN_FLIGHT = 8  # sends under way per batch: the SMTP pool's 4 connections, and the next 4


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
    batch = _Batch(prepared.outcomes, now)
    for work in prepared.works:
        batch.send(work)
    batch.finish()
    if batch.sent:
        _settle_sent(batch)
    return [batch.outcomes.get(i) or ledger.Outcome(i, "skipped") for i in message_ids]


def _settle_sent(batch: _Batch) -> None:
    """One statement for the batch's sends and, in the same transaction, their
    ``email_sent`` events (``store.insert_events``, the way to store events inside a
    transaction; enqueued after the commit): a transaction per batch fewer than handing
    them to ingest after, and a send is never recorded without its event. A worker dying
    before the commit leaves the sends 'sending', for review (ledger.py's crash window).
    """
    now = clock.now()
    stored: dict[str, int] = {}
    with session_scope() as session:
        conn = session.connection()
        ledger.settle_many(conn, batch.sent, now)
        if batch.events:
            stored = insert_events(conn, batch.events, clock.plain_utc(now), "delivery")
    if batch.events:
        announce("delivery", len(batch.events), list(stored.values()))


class _Batch:
    """A batch's sends, up to :data:`IN_FLIGHT` at a time over the channel's pooled
    connections. A channel's first send in the batch goes alone: if it pauses the
    channel (a sender-side failure, such as a revoked credential), the rest are held
    unattempted instead of failing with it. A later failure that pauses it holds what
    is not started yet; sends already under way finish and are recorded."""

    def __init__(self, outcomes: dict[int, ledger.Outcome], now: datetime) -> None:
        self.outcomes = outcomes
        self.now = now
        self.sent: list[ledger.Settle] = []
        self.events: list[EventIn] = []
        self.paused: dict[str, pause.Pause] = {}
        self.tried: set[str] = set()  # channels whose first send has answered
        self.running: dict[Future[str], Work] = {}
        # Each send's future, once it has answered: waiting on this queue costs less
        # than ``concurrent.futures.wait`` setting up a waiter on every future each time.
        self.answered: SimpleQueue[Future[str]] = SimpleQueue()

    def send(self, work: Work) -> None:
        """Start ``work``'s send, or hold it when its channel is paused."""
        while len(self.running) >= IN_FLIGHT:
            self._collect()
        held = self.paused.get(work.channel.name)
        if held is not None:
            with session_scope() as session:
                reason = hold(session.connection(), work.message_id, held, self.now)
            self.outcomes[work.message_id] = ledger.Outcome(
                work.message_id, S.DEFERRED.value, reason
            )
            return
        try:
            future = _start(work)
        except Exception as exc:  # the message could not be built: as a failed send
            self._record(work, exc)
            return
        self.running[future] = work
        future.add_done_callback(self.answered.put)
        if work.channel.name not in self.tried:
            self.tried.add(work.channel.name)
            self.finish()

    def finish(self) -> None:
        """Wait for every send under way and record it."""
        while self.running:
            self._collect()

    def _collect(self) -> None:
        """Record the sends that have answered, waiting for one if none has."""
        finished = [self.answered.get()]
        while not self.answered.empty():
            finished.append(self.answered.get())
        for future in finished:
            work = self.running.pop(future)
            try:
                provider_id = future.result()
            except CancelledError:
                self._record(work, TransientDeliveryError("the sender closed mid-send"))
            except Exception as exc:
                self._record(work, exc)
            else:
                self._record(work, provider_id)

    def _record(self, work: Work, result: str | BaseException) -> None:
        mid = work.message_id
        if isinstance(result, DeliveryError):
            self.outcomes[mid] = failed(mid, work.channel, work.message.attempts, result, self.now)
            if (found := _pause_of(work.channel.name, self.now)) is not None:
                self.paused[work.channel.name] = found
        elif isinstance(result, BaseException):  # a bug: left 'sending', never sent twice
            log.error("message %s: delivery failed", mid, exc_info=result)
            self.outcomes[mid] = ledger.Outcome(mid, "error", f"{type(result).__name__}")
        else:
            self.sent.append(ledger.Settle(mid, S.SENT, provider_id=result))
            self.outcomes[mid] = ledger.Outcome(mid, S.SENT.value)
            if work.channel.records_sent:
                self.events.append(sent_event(work.message))


def _start(work: Work) -> Future[str]:
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
        # A plain datetime: the events' insert binds its time, and pendulum's arithmetic
        # there cost more than the rest of the event.
        clock.plain_utc(at or clock.now()),
        template=message.template,
        journey_id=message.journey_id,
        enrollment_id=message.enrollment_id,
    )
