"""The claim's transaction for a batch of messages (what one actor message carries):
claim them, hold those whose channel is paused, lock their customers, render, ask the
contact policy, and record every end that needs no send, in a constant number of
statements whatever the batch's size (calls excepted: each opens its agent task).

The customers are locked in id order (the order processing locks them in), so two
batches to one customer are checked one after the other against the caps; inside a
batch, a message counts the ones decided before it as sent, as it would if they had
been delivered one by one. A task the customer asked for (``queues.py``) skips the
contact policy but for ``do_not_call``, and counts against no cap.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, column
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from automation.channels.base import CHANNELS, Channel, Rendered
from automation.channels.jinja import TemplateProblem
from automation.config import get_settings
from automation.db import session_scope
from automation.db.sql import ids_in
from automation.delivery import ledger, pause
from automation.delivery.call_center import open_task
from automation.delivery.content import Catalog, context_for, load_catalog
from automation.delivery.failures import hold
from automation.delivery.ledger import Counted, Outcome, Settle
from automation.delivery.policy import DEFER, SUPPRESS, decide
from automation.delivery.queues import REQUESTED, queue_of, requested_refusal
from automation.models import Customer, Message, MessageStatus

S = MessageStatus


@dataclass(frozen=True)
class Work:
    """A message to send once the claim's transaction has committed."""

    message: Message
    channel: Channel
    rendered: Rendered
    address: str

    @property
    def message_id(self) -> int:
        assert self.message.id is not None
        return self.message.id


@dataclass
class Prepared:
    """A batch after its claim: what ended there, and what to send (in id order)."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    works: list[Work] = field(default_factory=list)


def prepare(message_ids: list[int], now: datetime) -> Prepared:
    """Claim, check and render the waiting messages of ``message_ids`` in one transaction."""
    prepared = Prepared()
    with session_scope() as session:
        conn = session.connection()
        claimed = session.exec(  # type: ignore[call-overload]
            _claim(conn.dialect.name), params={"ids": message_ids, "now": now}
        ).all()
        if not claimed:
            return prepared
        messages = sorted((row[0] for row in claimed), key=lambda m: m.id)
        taken = [m.id for m in messages]
        pauses = pause.all_in_force(conn, now) if claimed[0][1] else {}
        waiting: list[Message] = []
        for message in messages:
            assert message.id is not None
            held = pauses.get(message.channel)
            if held is None:
                waiting.append(message)
            else:
                reason = hold(conn, message.id, held, now)
                prepared.outcomes[message.id] = Outcome(message.id, S.DEFERRED.value, reason)
        if waiting:
            _decide_all(session, waiting, taken, now, prepared)
    return prepared


def _decide_all(
    session: Session, waiting: list[Message], taken: list[int], now: datetime, into: Prepared
) -> None:
    conn = session.connection()
    customer_ids = sorted({m.customer_id for m in waiting})
    query = _customers_of(conn.dialect.name)
    customers = {c.customer_id: c for c in session.exec(query, params={"ids": customer_ids})}
    rendering = [m for m in waiting if CHANNELS[m.channel].render is not None]
    catalog = load_catalog(session, rendering, [customers[m.customer_id] for m in rendering])
    counted: dict[str, list[Counted]] = defaultdict(list)
    for row in ledger.counted_recent(conn, customer_ids, taken, now):
        counted[row.customer_id].append(row)
    ends: list[Settle] = []
    for message in waiting:
        customer = customers[message.customer_id]
        end, work = _decide(session, catalog, message, customer, counted[customer.customer_id], now)
        if work is not None:
            into.works.append(work)
        if end is not None:
            ends.append(end)
            into.outcomes[end.message_id] = Outcome(end.message_id, end.status.value, end.reason)
        sent = end is not None and end.status == S.SENT and end.reason != REQUESTED
        if work is not None or sent:
            # The next message to this customer counts this one, as one by one it would.
            mine = Counted(customer.customer_id, message.channel, message.journey_id, now)
            counted[customer.customer_id].append(mine)
    ledger.settle_many(conn, ends, now)


def _decide(
    session: Session,
    catalog: Catalog,
    message: Message,
    customer: Customer,
    counted: list[Counted],
    now: datetime,
) -> tuple[Settle | None, Work | None]:
    """One message: an end (suppressed, deferred, failed, a call task opened) or a send."""
    assert message.id is not None
    channel = CHANNELS[message.channel]
    rendered: Rendered | None = None
    if channel.render is not None:
        context = context_for(catalog, message, customer)
        try:
            rendered = channel.render(message.template or "", context)
        except TemplateProblem as exc:
            return Settle(message.id, S.FAILED, f"template: {exc}"), None
    if channel.opens_task and queue_of(message.payload.get("queue")).requested:
        return _requested(session, message, customer), None
    advertising = rendered.advertising if rendered is not None else False
    zone = customer.timezone or get_settings().timezone
    sent = ledger.already_sent(counted, message, zone, now)
    verdict = decide(customer, channel, advertising, sent, now)
    if verdict.action == SUPPRESS:
        return Settle(message.id, S.SUPPRESSED, verdict.reason), None
    if verdict.action == DEFER:
        return Settle(message.id, S.DEFERRED, verdict.reason, until=verdict.until), None
    if channel.opens_task:
        open_task(session, message, customer)
        return Settle(message.id, S.SENT, provider_id=f"task:{message.id}"), None
    assert rendered is not None and channel.address_field is not None
    address = getattr(customer, channel.address_field)
    if not address:
        return Settle(message.id, S.FAILED, f"no_{channel.address_field}"), None
    return None, Work(message, channel, rendered, address)


# Built once (see ledger.py): the claim, returning the messages taken and whether a
# pause is in force (the batch's SELECTs of both were two more round trips); the
# claim's customers, locked in order.
@functools.lru_cache(maxsize=4)
def _claim(dialect: str) -> Any:
    paused = pause.ANY_IN_FORCE.label("paused")
    returning = ledger.claiming(dialect).returning(*Message.__table__.c, paused)  # type: ignore[attr-defined]
    return select(Message, column("paused", Boolean)).from_statement(returning)


@functools.lru_cache(maxsize=4)
def _customers_of(dialect: str) -> SelectOfScalar[Customer]:
    where = ids_in(dialect, col(Customer.customer_id), "ids", String)
    return select(Customer).where(where).order_by(col(Customer.customer_id)).with_for_update()


def _requested(session: Session, message: Message, customer: Customer) -> Settle:
    """A task the customer asked for (``queues.py``): opened whatever the consents,
    the night and the caps say, and not counted against them; only a consultation's
    ``do_not_call`` refuses it."""
    assert message.id is not None
    refusal = requested_refusal(customer, queue_of(message.payload.get("queue")))
    if refusal is not None:
        return Settle(message.id, S.SUPPRESSED, refusal)
    open_task(session, message, customer)
    return Settle(message.id, S.SENT, REQUESTED, provider_id=f"task:{message.id}")
