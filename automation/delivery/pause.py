"""Channel pauses: while one is in force, no message on the channel is attempted.

A sender-side SMTP failure (an expired credential, a relay that refuses us, a policy
or configuration failure) pauses e-mail for ``CHANNEL_PAUSE_SECONDS``, so one bad
credential does not fail the whole queue; an operator pauses and resumes any channel
(``automation messages pause|resume``).

The pause is a row of ``channel_pauses`` (one per channel), because every worker
process, on every host, must see it at its next claim. A message claimed while its
channel is paused is released unattempted (``ledger.release``): ``deferred`` with the
reason ``channel_paused:<channel>`` until the pause ends; a resume makes those due at
once and the relay offers them again. Nothing is lost, and since each is claimed
again before it is sent, nothing is sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.engine import Connection

from automation import clock
from automation.channels.base import CHANNELS
from automation.config import get_settings
from automation.db import get_engine
from automation.db.sql import dialect_insert
from automation.delivery import ledger
from automation.errors import NotFound
from automation.metrics import CHANNEL_PAUSES
from automation.models import ChannelPause, Message, MessageStatus

AUTO = "auto"  # paused_by of a pause a sender-side failure set
_pauses = ChannelPause.__table__  # type: ignore[attr-defined]
_messages = Message.__table__  # type: ignore[attr-defined]


class UnknownChannel(NotFound):
    """No channel has this name."""


@dataclass(frozen=True)
class Pause:
    """A pause in force."""

    channel: str
    paused_at: datetime
    until: datetime | None  # None: until an operator resumes the channel
    reason: str
    paused_by: str

    def ends(self, now: datetime) -> datetime:
        """When a message it holds is offered again: its end, or for a pause without
        one, after ``CHANNEL_PAUSE_SECONDS`` (a resume makes it sooner)."""
        return self.until or now + timedelta(seconds=get_settings().channel_pause_seconds)


@dataclass(frozen=True)
class ChannelState:
    """One channel as ``automation messages status`` shows it."""

    channel: str
    pause: Pause | None  # in force now
    last: dict[str, Any] | None  # the row of its last pause, in force or not
    held: int  # messages waiting for the pause to end
    in_review: int


def held_reason(channel: str) -> str:
    """The reason a message waiting for ``channel``'s pause carries."""
    return f"channel_paused:{channel}"


def check_channel(channel: str) -> str:
    """``channel`` if it names one, else :class:`UnknownChannel`."""
    if channel not in CHANNELS:
        raise UnknownChannel(f"no channel {channel!r}: one of {', '.join(CHANNELS)}")
    return channel


def in_force(conn: Connection, channel: str, now: datetime) -> Pause | None:
    """The channel's pause, if one is in force at ``now``."""
    p = _pauses
    row = conn.execute(select(p).where(p.c.channel == channel, _active(now))).first()
    if row is None:
        return None
    return Pause(row.channel, row.paused_at, row.until, row.reason, row.paused_by)


def all_in_force(conn: Connection, now: datetime) -> dict[str, Pause]:
    """Every pause in force at ``now``, by channel (one statement for a batch)."""
    rows = conn.execute(_IN_FORCE, {"now": now})
    return {r.channel: Pause(r.channel, r.paused_at, r.until, r.reason, r.paused_by) for r in rows}


def pause(
    conn: Connection,
    channel: str,
    now: datetime,
    *,
    until: datetime | None,
    reason: str,
    by: str,
    replace: bool = False,
) -> bool:
    """Pause ``channel`` from ``now`` until ``until`` (None: until resumed); True if this
    call paused it. A pause in force is kept unless ``replace`` (an operator's word):
    of several workers failing at once, exactly one pauses the channel."""
    p = _pauses
    values = {
        "channel": channel,
        "paused_at": now,
        "until": until,
        "reason": reason[:300],
        "paused_by": by[:100],
        "resumed_at": None,
        "resumed_by": None,
    }
    insert = dialect_insert(conn, p).values(**values)
    upsert = insert.on_conflict_do_update(
        index_elements=[p.c.channel],
        set_={key: insert.excluded[key] for key in values if key != "channel"},
        where=None if replace else ~_active(now),
    ).returning(p.c.channel)
    paused = conn.execute(upsert).first() is not None
    if paused:
        CHANNEL_PAUSES.labels(channel, AUTO if by == AUTO else "operator").inc()
    return paused


def pause_channel(channel: str, *, seconds: int | None, reason: str, by: str) -> Pause:
    """An operator's pause: for ``seconds``, or until resumed (None)."""
    check_channel(channel)
    now = clock.now()
    until = now + timedelta(seconds=seconds) if seconds else None
    with get_engine().begin() as conn:
        pause(conn, channel, now, until=until, reason=reason, by=by, replace=True)
        found = in_force(conn, channel, now)
    assert found is not None
    return found


def resume_channel(channel: str, *, by: str) -> tuple[bool, int]:
    """End ``channel``'s pause now and make the messages it held due; returns whether a
    pause was in force and how many messages the relay will offer again."""
    check_channel(channel)
    now = clock.now()
    p = _pauses
    with get_engine().begin() as conn:
        ended = conn.execute(
            update(p)
            .where(p.c.channel == channel, _active(now))
            .values(resumed_at=now, resumed_by=by[:100])
        ).rowcount
        released = ledger.release_held(conn, held_reason(channel), now)
    return bool(ended), released


def states() -> list[ChannelState]:
    """Every channel: its pause, the messages waiting for it, and those in review."""
    now = clock.now()
    m = _messages
    with get_engine().connect() as conn:
        rows = {r.channel: r for r in conn.execute(select(_pauses))}
        held: dict[str, int] = dict(
            conn.execute(
                select(m.c.reason, func.count())
                .where(m.c.status == MessageStatus.DEFERRED.value)
                .where(m.c.reason.in_([held_reason(c) for c in CHANNELS]))
                .group_by(m.c.reason)
            ).all()
        )
        review: dict[str, int] = dict(
            conn.execute(
                select(m.c.channel, func.count())
                .where(m.c.status == MessageStatus.REVIEW.value)
                .group_by(m.c.channel)
            ).all()
        )
        found = [
            ChannelState(
                name,
                in_force(conn, name, now),
                dict(rows[name]._mapping) if name in rows else None,
                int(held.get(held_reason(name), 0)),
                int(review.get(name, 0)),
            )
            for name in CHANNELS
        ]
    return found


def _active(now: Any) -> Any:
    p = _pauses
    return and_(p.c.resumed_at.is_(None), or_(p.c.until.is_(None), p.c.until > now))


# Every batch asks: built once, ``now`` a parameter (building it cost more than running it).
_NOW = bindparam("now", type_=_pauses.c.until.type)
_IN_FORCE = select(_pauses).where(_active(_NOW))
# Whether any pause is in force, for a batch's claim to return with its messages: almost
# always none, and then the batch need not read them (``prepare.py``).
ANY_IN_FORCE = exists().where(_active(_NOW))
