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

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from automation import clock
from automation.channels.base import CHANNELS
from automation.channels.zones import in_zone
from automation.config import get_settings
from automation.db import get_engine
from automation.db.sql import ids_in
from automation.delivery.policy import Sent
from automation.delivery.queues import REQUESTED
from automation.models import Message, MessageStatus

_messages = Message.__table__  # type: ignore[attr-defined]
S = MessageStatus
COUNTED = (S.SENT.value, S.SENDING.value)


def claim(conn: Connection, message_id: int, now: datetime) -> bool:
    """Take a message for delivery if it is waiting and its time has come."""
    return bool(claim_many(conn, [message_id], now))


def claim_many(conn: Connection, message_ids: list[int], now: datetime) -> list[int]:
    """Take the messages of ``message_ids`` that are waiting and due, in one statement;
    returns the ids taken, in id order."""
    if not message_ids:
        return []
    claimed = conn.execute(_claim(conn.dialect.name), {"ids": message_ids, "now": now})
    return sorted(claimed.scalars())


# The statements every batch runs are built once, with their values as parameters:
# building one and its cache key cost SQLAlchemy more than running it (a third of a
# delivered e-mail's time went to the batch's statements).
@functools.lru_cache(maxsize=4)
def _claim(dialect: str) -> Any:
    return claiming(dialect).returning(_messages.c.id)


def claiming(dialect: str) -> Any:
    """The claim's ``UPDATE`` (parameters ``ids``, ``now``), for a caller that chooses
    what it returns (``prepare.py``: the messages and whether a pause is in force)."""
    m = _messages
    now = bindparam("now", type_=m.c.updated_at.type)
    return (
        update(m)
        .where(
            ids_in(dialect, m.c.id, "ids", Integer),
            m.c.status.in_((S.QUEUED.value, S.DEFERRED.value)),
            or_(m.c.deliver_after.is_(None), m.c.deliver_after <= now),
        )
        .values(status=S.SENDING.value, attempts=m.c.attempts + 1, updated_at=now)
    )


@dataclass(frozen=True)
class Settle:
    """One claimed message's end, for :func:`settle_many`."""

    message_id: int
    status: MessageStatus
    reason: str | None = None
    until: datetime | None = None  # a deferral's time
    provider_id: str | None = None  # a sent one's


def settle_many(conn: Connection, ends: list[Settle], now: datetime) -> None:
    """:func:`settle` for many ``sending`` messages: one statement per kind of end
    (sent, deferred, the others), each executed for all its messages."""
    kinds: dict[str, list[dict[str, object]]] = {}
    for end in ends:
        kind = end.status.value if end.status in (S.SENT, S.DEFERRED) else "other"
        kinds.setdefault(kind, []).append(
            {
                "mid": end.message_id,
                "to": end.status.value,
                "why": end.reason[:300] if end.reason else end.reason,
                "until": end.until,
                "pid": end.provider_id,
                "now": now,
            }
        )
    for kind, params in kinds.items():
        conn.execute(_settle(kind), sorted(params, key=lambda p: p["mid"]))  # type: ignore[arg-type, return-value]


@functools.lru_cache(maxsize=4)
def _settle(kind: str) -> Any:
    m = _messages
    now = bindparam("now", type_=m.c.updated_at.type)
    values: dict[str, object] = {
        "status": bindparam("to"),
        "updated_at": now,
        "reason": bindparam("why"),
    }
    if kind == S.SENT.value:
        values |= {"sent_at": now, "provider_id": bindparam("pid")}
    elif kind == S.DEFERRED.value:
        values["deliver_after"] = bindparam("until", type_=m.c.deliver_after.type)
    return (
        update(m).where(m.c.id == bindparam("mid"), m.c.status == S.SENDING.value).values(**values)
    )


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


@dataclass(frozen=True)
class Counted:
    """A message counted against the caps: its customer, channel, journey and time."""

    customer_id: str
    channel: str
    journey_id: str | None
    at: datetime


def counted_recent(
    conn: Connection, customer_ids: list[str], leave_out: list[int], now: datetime
) -> list[Counted]:
    """The messages sent (or being sent) to ``customer_ids`` in the last 7 days, but for
    ``leave_out`` (the batch being decided), for :func:`already_sent`: one statement.
    A task the customer asked for (reason ``requested_by_customer``) is not counted."""
    if not customer_ids:
        return []
    params = {"customers": customer_ids, "leave_out": leave_out, "since": now - timedelta(days=7)}
    rows = conn.execute(_counted(conn.dialect.name), params)
    return [Counted(c, ch, j, clock.to_utc(at)) for c, ch, j, at in rows]


@functools.lru_cache(maxsize=4)
def _counted(dialect: str) -> Any:
    m = _messages
    when = func.coalesce(m.c.sent_at, m.c.updated_at)
    return select(m.c.customer_id, m.c.channel, m.c.journey_id, when).where(
        ids_in(dialect, m.c.customer_id, "customers", String),
        ~ids_in(dialect, m.c.id, "leave_out", Integer),
        m.c.status.in_(COUNTED),  # a sent message has sent_at; a sending one, updated_at
        when >= bindparam("since", type_=m.c.sent_at.type),
        or_(m.c.reason.is_(None), m.c.reason != REQUESTED),
    )


def already_sent(counted: list[Counted], message: Message, timezone: str, now: datetime) -> Sent:
    """What the customer was sent, for the frequency caps: today (their day) and in 7
    days, from :func:`counted_recent`'s rows of this customer."""
    local_midnight, week = _day_and_week(now, timezone)
    channel_today = channel_week = total_today = total_week = journey_week = 0
    for c in counted:
        if c.at < week:
            continue
        today = c.at >= local_midnight
        total_week += 1
        total_today += today
        if c.channel == message.channel:
            channel_week += 1
            channel_today += today
        # SQL's NULL = NULL is not true: a message without a journey counts no journey's.
        journey_week += message.journey_id is not None and c.journey_id == message.journey_id
    return Sent(channel_today, channel_week, total_today, total_week, journey_week)


@functools.lru_cache(maxsize=64)
def _day_and_week(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    # A batch decides all its messages at one ``now``, mostly in one zone: the start of
    # the customer's day and of the week, worked out once, not per message (pendulum's
    # zone arithmetic was a tenth of an e-mail's CPU).
    return clock.to_utc(in_zone(now, timezone).start_of("day")), now - timedelta(days=7)


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


def on_their_way() -> Select[tuple[int]]:
    """The count of messages offered to a worker and not settled yet, as a query (to be
    read with other counts in one snapshot): being sent, queued and offered
    (processing stamps ``updated_at`` on the messages it publishes; bulk entry leaves
    it empty for the relay), or deferred and offered after their time came."""
    m = _messages
    return select(func.count()).where(
        or_(
            m.c.status == S.SENDING.value,
            (m.c.status == S.QUEUED.value) & m.c.updated_at.is_not(None),
            (m.c.status == S.DEFERRED.value) & (m.c.deliver_after <= m.c.updated_at),
        )
    )


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
