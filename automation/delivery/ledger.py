"""The delivery ledger: every status change of a message is one conditional UPDATE.

A message moves ``queued``/``deferred`` → ``sending`` (claimed by one worker, only if
its time has come) → ``sent`` | ``failed`` | ``bounced``; or from the claim straight
to ``suppressed`` or back to ``deferred`` (contact policy, transient failure). Each
change names the status it expects, so a re-delivered actor message, a retry or a
second worker finds nothing to claim and sends nothing twice.

The crash window: a worker that dies after the channel accepted a message and
before ``sent`` was recorded leaves it ``sending``. After ``SENDING_GRACE_SECONDS``
the relay resolves it by the channel's rule (``Channel.resend_after_crash`` in
``channels/base.py``): e-mail and SMS go to ``review`` (not resent: a customer must
never get the same advertisement twice; a person decides, ``review.py``), a call task
is re-opened (``queued``), since creating it is idempotent by message id and an agent
calling once more costs nothing wrong.

A message claimed while its channel is paused (``pause.py``) is released: back to
``deferred`` until the pause ends, its attempt not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pendulum
from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection

from automation import clock
from automation.channels.base import CHANNELS
from automation.config import get_settings
from automation.db import get_engine
from automation.delivery.policy import Sent
from automation.models import Message, MessageStatus

_messages = Message.__table__  # type: ignore[attr-defined]
S = MessageStatus
COUNTED = (S.SENT.value, S.SENDING.value)


def claim(conn: Connection, message_id: int, now: datetime) -> bool:
    """Take a message for delivery if it is waiting and its time has come."""
    m = _messages
    claimed = conn.execute(
        update(m)
        .where(
            m.c.id == message_id,
            m.c.status.in_((S.QUEUED.value, S.DEFERRED.value)),
            or_(m.c.deliver_after.is_(None), m.c.deliver_after <= now),
        )
        .values(status=S.SENDING.value, attempts=m.c.attempts + 1, updated_at=now)
        .returning(m.c.id)
    ).first()
    return claimed is not None


def settle(
    conn: Connection,
    message_id: int,
    status: MessageStatus,
    now: datetime,
    *,
    reason: str | None = None,
    until: datetime | None = None,
    provider_id: str | None = None,
) -> bool:
    """Move a ``sending`` message to ``status``; False if it was not ``sending`` any more."""
    m = _messages
    # The column holds 300 characters; a server's text behind a prefix may be longer.
    why = reason[:300] if reason else reason
    values: dict[str, object] = {"status": status.value, "updated_at": now, "reason": why}
    if status == S.SENT:
        values |= {"sent_at": now, "provider_id": provider_id}
    if status == S.DEFERRED:
        values["deliver_after"] = until
    done = conn.execute(
        update(m)
        .where(m.c.id == message_id, m.c.status == S.SENDING.value)
        .values(**values)
        .returning(m.c.id)
    ).first()
    return done is not None


def release(
    conn: Connection, message_id: int, now: datetime, *, reason: str, until: datetime
) -> bool:
    """Hand a claimed message back unattempted (its channel is paused): ``deferred``
    until ``until``, the claim's attempt not counted against ``DELIVERY_MAX_ATTEMPTS``."""
    m = _messages
    done = conn.execute(
        update(m)
        .where(m.c.id == message_id, m.c.status == S.SENDING.value)
        .values(
            status=S.DEFERRED.value,
            reason=reason,
            deliver_after=until,
            attempts=m.c.attempts - 1,
            updated_at=now,
        )
        .returning(m.c.id)
    ).first()
    return done is not None


def release_held(conn: Connection, reason: str, now: datetime) -> int:
    """Messages deferred with ``reason`` (a pause's) become due now: the relay offers them."""
    m = _messages
    result = conn.execute(
        update(m)
        .where(m.c.status == S.DEFERRED.value, m.c.reason == reason, m.c.deliver_after > now)
        .values(deliver_after=now)
    )
    return int(result.rowcount or 0)


def from_review(
    conn: Connection,
    message_id: int,
    status: MessageStatus,
    now: datetime,
    *,
    reason: str,
    sent_at: datetime | None = None,
) -> bool:
    """Move a ``review`` message to ``sent`` (at ``sent_at``) or back to ``queued`` (not
    offered yet, so the relay offers it on its next run); False if not in review."""
    m = _messages
    values: dict[str, object] = {"status": status.value, "reason": reason[:300]}
    if status == S.SENT:
        values |= {"sent_at": sent_at or now, "updated_at": now}
    elif status == S.QUEUED:
        values |= {"updated_at": None, "deliver_after": None}
    else:
        raise ValueError(f"a review item is resolved as sent or queued, not {status.value}")
    done = conn.execute(
        update(m)
        .where(m.c.id == message_id, m.c.status == S.REVIEW.value)
        .values(**values)
        .returning(m.c.id)
    ).first()
    return done is not None


def retry_at(attempts: int, now: datetime) -> datetime:
    """When a transient failure is tried again: doubling from ``DELIVERY_RETRY_SECONDS``."""
    first = get_settings().delivery_retry_seconds
    return now + timedelta(seconds=first * 2 ** max(attempts - 1, 0))


def already_sent(conn: Connection, message: Message, timezone: str, now: datetime) -> Sent:
    """What the customer was sent, for the frequency caps: today (their day) and in 7 days."""
    m = _messages
    when = func.coalesce(m.c.sent_at, m.c.updated_at)
    local_midnight = clock.to_utc(pendulum.instance(now).in_tz(timezone).start_of("day"))
    week = now - timedelta(days=7)
    query = select(
        func.count().filter(m.c.channel == message.channel, when >= local_midnight),
        func.count().filter(m.c.channel == message.channel, when >= week),
        func.count().filter(when >= local_midnight),
        func.count().filter(when >= week),
        func.count().filter(m.c.journey_id == message.journey_id, when >= week),
    ).where(
        m.c.customer_id == message.customer_id,
        m.c.id != message.id,
        m.c.status.in_(COUNTED),  # a sent message has sent_at; a sending one, updated_at
    )
    row = conn.execute(query).one()
    return Sent(*(int(v) for v in row))


def due_for_relay(now: datetime, limit: int = 5000, grace_seconds: int | None = None) -> list[int]:
    """Messages waiting whose time has come: queued ones not offered for a grace period
    (their actor message was lost), deferred ones past ``deliver_after``."""
    m = _messages
    seconds = get_settings().relay_grace_seconds if grace_seconds is None else grace_seconds
    grace = now - timedelta(seconds=seconds)
    query = (
        select(m.c.id)
        .where(
            or_(
                (m.c.status == S.QUEUED.value)
                & (func.coalesce(m.c.updated_at, m.c.created_at) <= grace)
                & (or_(m.c.deliver_after.is_(None), m.c.deliver_after <= now)),
                (m.c.status == S.DEFERRED.value) & (m.c.deliver_after <= now),
            )
        )
        .order_by(m.c.id)
        .limit(limit)
    )
    with get_engine().connect() as conn:
        return list(conn.execute(query).scalars())


def offered(conn: Connection, ids: list[int], now: datetime) -> None:
    """Note that waiting messages were offered to a worker now (queued ones once per
    grace period; a deferred one offered after its time shows as on its way)."""
    m = _messages
    conn.execute(
        update(m)
        .where(m.c.id.in_(ids), m.c.status.in_([S.QUEUED.value, S.DEFERRED.value]))
        .values(updated_at=now)
    )


def on_their_way(conn: Connection) -> int:
    """Messages offered to a worker and not settled yet: being sent, queued and offered
    (processing stamps ``updated_at`` on the messages it publishes; bulk entry leaves
    it empty for the relay), or deferred and offered after their time came."""
    m = _messages
    query = select(func.count()).where(
        or_(
            m.c.status == S.SENDING.value,
            (m.c.status == S.QUEUED.value) & m.c.updated_at.is_not(None),
            (m.c.status == S.DEFERRED.value) & (m.c.deliver_after <= m.c.updated_at),
        )
    )
    return int(conn.execute(query).scalar_one())


def resolve_stuck(now: datetime) -> int:
    """Messages left ``sending`` by a dead worker: by the channel's rule (module doc)."""
    m = _messages
    cutoff = now - timedelta(seconds=get_settings().sending_grace_seconds)
    stuck = (m.c.status == S.SENDING.value) & (m.c.updated_at <= cutoff)
    to_resend = [c.name for c in CHANNELS.values() if c.resend_after_crash]
    to_review = [c.name for c in CHANNELS.values() if not c.resend_after_crash]
    with get_engine().begin() as conn:
        # ``updated_at`` stays the claim's time: when the mail went to the server, which
        # is where ops look it up in the server's log (``automation messages review``).
        reviewed = conn.execute(
            update(m)
            .where(stuck, m.c.channel.in_(to_review))
            .values(
                status=S.REVIEW.value,
                reason="worker stopped between send and record: not resent",
            )
        ).rowcount
        reopened = conn.execute(
            update(m)
            .where(stuck, m.c.channel.in_(to_resend))
            .values(
                status=S.QUEUED.value, updated_at=now, reason="re-opened after a worker stopped"
            )
        ).rowcount
    return int(reviewed or 0) + int(reopened or 0)


@dataclass(frozen=True)
class Outcome:
    """How one delivery attempt ended."""

    message_id: int
    status: str
    reason: str | None = None
