"""Responses to our messages, turned into events for ingest: opens, clicks and
unsubscribes through the tracking links, and the SMS gateway's reports.

Every event comes from the catalog (``events/catalog.py``), whose ids make a retried
request store nothing new: ``open:<message>``, ``click:<message>:<url hash>:<minute>``
(a double click within the minute is one click), ``unsubscribe:<message>``,
``sms:<message>:<status or reply hash>``. What a response means for the customer is
the pipeline's business, not this module's.

**Scanners.** Mail security gateways fetch every link of a mail on delivery. Such a
fetch is kept, flagged ``suspected_bot`` with a ``bot_reason``, under its own id
(``…:bot``), so a scanner cannot take the customer's own open or click.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.events.catalog import (
    email_clicked,
    email_opened,
    reply_detail,
    sms_reported,
    unsubscribed,
)
from automation.events.ingest import ingest
from automation.events.limits import json_kind
from automation.events.schema import MAX_FUTURE, EventIn
from automation.models import Event, Message

log = logging.getLogger(__name__)

# A person cannot read a mail and click within this many seconds of it being sent;
# security gateways that pre-fetch every link on delivery do.
BOT_WINDOW_SECONDS = 10.0
# User-agent fragments of mail scanners and link checkers (lower case).
BOT_AGENTS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "bot",
    "spider",
    "crawler",
    "safelinks",
    "microsoft office",  # Office apps validating a link before the browser opens it
    "ms-office",
    "headlesschrome",
)
# Headers browsers and previewers send on speculative fetches (name, lower-case value).
PREFETCH_HEADERS = (
    ("purpose", "prefetch"),
    ("sec-purpose", "prefetch"),
    ("x-purpose", "preview"),
    ("x-moz", "prefetch"),
)
# What a gateway reports → the event type.
SMS_TYPES = {"delivered": "sms_delivered", "failed": "sms_failed", "reply": "sms_replied"}


@dataclass(frozen=True)
class MessageFacts:
    """What an event needs to know about the message a token names."""

    id: int
    customer_id: str
    channel: str
    enrollment_id: int | None
    journey_id: str | None
    version_id: int | None
    state: str | None
    template: str | None
    sent_at: datetime | None

    def properties(self) -> dict[str, Any]:
        """The message's part of a response event's properties."""
        return {
            "message_id": self.id,
            "enrollment_id": self.enrollment_id,
            "journey_id": self.journey_id,
            "version_id": self.version_id,
            "state": self.state,
            "template": self.template,
        }


@dataclass(frozen=True)
class Fetch:
    """Who followed a tracking link: the request's headers (looked up by lower-case
    name) and the peer's address."""

    headers: Mapping[str, str]
    ip: str | None

    def properties(self) -> dict[str, Any]:
        """The fetch's part of a response event's properties."""
        return {"user_agent": self.headers.get("user-agent", "")[:500] or None, "ip": self.ip}


@dataclass(frozen=True)
class SmsReports:
    """What became of a gateway's reports."""

    accepted: int
    duplicates: int | None  # None when no report got as far as ingest
    refused: list[dict[str, Any]]  # {"index", "error"} per report refused


def message_facts(message_id: int) -> MessageFacts | None:
    """The message a genuine token names, or None if it is gone (another database, a
    purge): nothing can be recorded then, an event needs the message's customer."""
    with session_scope() as session:
        m = session.get(Message, message_id)
        if m is None:
            return None
        return MessageFacts(
            id=message_id,
            customer_id=m.customer_id,
            channel=m.channel,
            enrollment_id=m.enrollment_id,
            journey_id=m.journey_id,
            version_id=m.version_id,
            state=m.state,
            template=m.template,
            sent_at=m.sent_at,
        )


def bot_reason(fetch: Fetch, message: MessageFacts, now: datetime) -> str | None:
    """Why this fetch looks like a mail scanner's, or None.

    A known scanner user agent (or none at all: browsers always send one), a
    prefetch/preview header, or a fetch within ``BOT_WINDOW_SECONDS`` of the send
    (before it, too: the send was recorded after a gateway fetched the links).
    """
    agent = fetch.headers.get("user-agent", "").lower()
    if not agent.strip():
        return "no_user_agent"
    if any(mark in agent for mark in BOT_AGENTS):
        return "user_agent"
    for name, value in PREFETCH_HEADERS:
        if value in fetch.headers.get(name, "").lower():
            return "prefetch_header"
    if message.sent_at is not None:
        elapsed = (now - message.sent_at).total_seconds()
        if elapsed < BOT_WINDOW_SECONDS:
            return "too_soon_after_send"
    return None


def record_open(message_id: int, fetch: Fetch) -> None:
    """Store ``email_opened`` for a message's pixel. Never raises: the pixel renders
    whatever happens here, and a failure is logged."""
    message = message_facts(message_id)
    if message is None:
        return
    now = clock.now()
    bot = bot_reason(fetch, message, now)
    props = {**message.properties(), **fetch.properties(), **_bot_properties(bot)}
    _ingest_quietly(email_opened(message.id, message.customer_id, now, props, bot=bool(bot)))


def record_click(message_id: int, url: str, fetch: Fetch) -> None:
    """Store ``email_clicked`` for a click on ``url``. Never raises: the customer gets to
    the page whatever happens here, and a failure is logged."""
    message = message_facts(message_id)
    if message is None:
        return
    now = clock.now()
    bot = bot_reason(fetch, message, now)
    props = {**message.properties(), "url": url, **fetch.properties(), **_bot_properties(bot)}
    event = email_clicked(message.id, message.customer_id, now, url, props, bot=bool(bot))
    _ingest_quietly(event)


def record_unsubscribe(message: MessageFacts, method: str, fetch: Fetch) -> list[int]:
    """Store ``unsubscribed`` for ``message``'s channel (``method``: ``one_click`` or
    ``page``).

    Returns:
        The stored event's database id, to process before answering: an unsubscribe
        must hold before the next send, even when the broker lags. A repeat stores
        nothing, so its event is looked up (its first processing may have failed).
    """
    props = {
        **message.properties(),
        "channel": message.channel,
        "method": method,
        **fetch.properties(),
    }
    event = unsubscribed(message.id, message.customer_id, clock.now(), props)
    result = ingest([event], source="tracking")
    return result.stored_ids or _event_pks(event.event_id)


def record_sms_reports(reports: list[Any]) -> SmsReports:
    """Store one event per gateway report, tied to its message by ``message_key``:
    ``sms_delivered``, ``sms_failed``, or ``sms_replied`` (its text in ``reply``).

    A report is refused with a reason when it is not an object, its ``message_key`` is
    not a string (or holds a NUL) or names no message we sent, it says neither delivered
    nor failed and is no reply, its ``reply`` or ``provider_id`` is not text, or its
    ``at`` is not an ISO 8601 time with a zone; the others are stored all the same.
    """
    keys = sorted(
        {
            r["message_key"]
            for r in reports
            if isinstance(r, dict) and _key_problem(r.get("message_key")) is None
        }
    )
    found: dict[str, Message] = {}
    if keys:
        with session_scope() as session:
            query = select(Message).where(col(Message.idempotency_key).in_(keys))
            found = {m.idempotency_key: m for m in session.exec(query)}
    now = clock.now()
    refused: list[dict[str, Any]] = []
    events: list[EventIn] = []
    ahead = 0
    for i, report in enumerate(reports):
        event = _sms_event(report, found, now)
        if isinstance(event, str):
            refused.append({"index": i, "error": event})
        elif event.occurred_at - now > MAX_FUTURE:
            # Ingest refuses a time over a day ahead, and the answer has never said so
            # (it counts such a report as neither accepted nor refused): kept as it was.
            log.warning("SMS report %s is dated over a day ahead: not stored", event.event_id)
            ahead += 1
        else:
            events.append(event)
    if not events and not ahead:
        return SmsReports(0, None, refused)
    stored = ingest(events, source="sms") if events else None
    return SmsReports(
        stored.count("accepted") if stored else 0,
        stored.count("duplicate") if stored else 0,
        refused,
    )


def _sms_event(report: Any, found: dict[str, Message], now: datetime) -> EventIn | str:
    """The report's event, or why it is refused."""
    if not isinstance(report, dict):
        return "a report is an object"
    key = report.get("message_key")
    problem = _key_problem(key)
    if problem is not None:
        return problem
    assert isinstance(key, str)  # _key_problem saw to it
    message = found.get(key)
    if message is None or message.id is None:
        return f"no SMS with message_key {key[:60]!r}"
    reply = report.get("reply")
    problem = _text_problem("reply", reply, 10_000) or _provider_problem(report.get("provider_id"))
    if problem is not None:
        return problem
    status = "reply" if reply else report.get("status")
    if not isinstance(status, str) or status not in SMS_TYPES:
        return "status: delivered or failed (or a reply with its text)"
    at = _reported_at(report.get("at"), now)
    if isinstance(at, str):
        return at
    properties: dict[str, Any] = {
        "message_id": message.id,
        "journey_id": message.journey_id,
        "enrollment_id": message.enrollment_id,
        "template": message.template,
        "provider_id": report.get("provider_id"),
    }
    if reply:
        properties["reply"] = reply[:1000]
    detail = reply_detail(reply) if reply else status
    return sms_reported(message.id, message.customer_id, at, SMS_TYPES[status], detail, properties)


# Message.idempotency_key's length: a longer key names no message.
MESSAGE_KEY_MAX = 200


def _key_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a ``message_key``, or None."""
    if value is None or value == "":
        return "message_key is missing (the key the message was sent with)"
    return _text_problem("message_key", value, MESSAGE_KEY_MAX)


def _text_problem(name: str, value: Any, limit: int) -> str | None:
    """Why ``value`` (if given) is no text we can store, or None. PostgreSQL text and
    ``jsonb`` cannot hold NUL, so a NUL is refused here rather than failing the batch."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"{name} must be a string, not {json_kind(value)}"
    if "\x00" in value:
        return f"{name} must not contain a NUL character"
    if len(value) > limit:
        return f"{name} is longer than {limit} characters"
    return None


def _provider_problem(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    problem = _text_problem("provider_id", value, 200)
    return problem and problem.replace("a string,", "a string or a number,")


def _reported_at(value: Any, now: datetime) -> datetime | str:
    """When the gateway says it happened (now if it does not say), or why not."""
    if value is None or value == "":
        return now
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
        if at is not None and at.utcoffset() is not None:
            at.astimezone(UTC)  # a zone that moves it out of range raises here
    except (ValueError, OverflowError):
        at = None
    if at is None or at.utcoffset() is None:
        return (
            f"at {str(value)[:40]!r} is not an ISO 8601 time with a zone "
            "(such as 2026-11-22T10:00:00+09:00)"
        )
    return at


def _bot_properties(reason: str | None) -> dict[str, Any]:
    return {"suspected_bot": True, "bot_reason": reason} if reason else {"suspected_bot": False}


def _ingest_quietly(event: EventIn) -> None:
    try:
        ingest([event], source="tracking")
    except Exception:
        log.exception("could not record %s", event.event_id)


def _event_pks(event_id: str) -> list[int]:
    with session_scope() as session:
        pk = session.exec(select(Event.id).where(Event.event_id == event_id)).first()
    return [pk] if pk is not None else []
