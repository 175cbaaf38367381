"""Tracking routes: the open pixel, link clicks and unsubscribes (no API key: tokens are signed).

Each route checks its token, turns what happened into an event through ingest, and
answers; it decides nothing about journeys. Event ids are deterministic, so a retried
request stores nothing new:

- open: ``open:<message id>`` (one open per message; ``…:bot`` for a suspected
  scanner, so a scanner's fetch cannot take the customer's open);
- click: ``click:<message id>:<sha1(url)[:12]>:<UTC minute>`` (``…:bot`` likewise):
  a double-click or a retried request within the minute is one click, a click a
  minute later is another;
- unsubscribe: ``unsubscribe:<message id>``.
"""

from __future__ import annotations

import hashlib
import html
import logging
from dataclasses import dataclass
from typing import Any

import pendulum
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlmodel import select

from automation import clock
from automation.db import session_scope
from automation.events.ingest import ingest
from automation.models import Event, Message
from automation.tracking.tokens import BadToken, TokenKind, read_token
from automation.worker.process import process_events

log = logging.getLogger(__name__)
router = APIRouter()

# The smallest transparent GIF (43 bytes).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = {"Cache-Control": "no-store"}
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
CHANNEL_NAMES = {"email": "이메일", "sms": "문자(SMS)", "call": "전화"}


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
    sent_at: Any

    def properties(self) -> dict[str, Any]:
        return {
            "message_id": self.id,
            "enrollment_id": self.enrollment_id,
            "journey_id": self.journey_id,
            "version_id": self.version_id,
            "state": self.state,
            "template": self.template,
        }


@router.get("/t/o/{token}")
def open_pixel(token: str, request: Request) -> Response:
    """Always the 1×1 GIF, whatever the token: a bad one records nothing and says nothing."""
    message = _message(token, "open")
    if message is not None:
        now = clock.now()
        bot = bot_reason(request, message, now)
        event_id = f"open:{message.id}" + (":bot" if bot else "")
        props = {**message.properties(), **_client(request), **_bot_props(bot)}
        # The pixel must render even if recording fails; the failure is logged.
        _ingest_quietly(_event(event_id, "email_opened", message, now, props))
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/t/c/{token}")
def click(token: str, request: Request) -> Response:
    """Record the click, then 302 to the URL the token signs (nothing else: no open redirect)."""
    try:
        data = read_token(token, "click")
    except BadToken as exc:
        return PlainTextResponse(f"invalid link: {exc}", status_code=400, headers=NO_STORE)
    assert data.url is not None  # read_token guarantees a URL for clicks
    message = _load(data.message_id)
    if message is not None:
        now = clock.now()
        bot = bot_reason(request, message, now)
        url_hash = hashlib.sha1(data.url.encode()).hexdigest()[:12]
        event_id = f"click:{message.id}:{url_hash}:{now:%Y%m%d%H%M}" + (":bot" if bot else "")
        props = {**message.properties(), "url": data.url, **_client(request), **_bot_props(bot)}
        # The customer gets to the page even if recording fails; the failure is logged.
        _ingest_quietly(_event(event_id, "email_clicked", message, now, props))
    # no-store: a cached redirect would skip the next click's recording.
    return RedirectResponse(data.url, status_code=302, headers=NO_STORE)


@router.get("/u/{token}")
def unsubscribe_page(token: str) -> HTMLResponse:
    """The confirmation page; only its POST unsubscribes (scanners follow GET links)."""
    message = _unsubscribing(token)
    if isinstance(message, HTMLResponse):
        return message
    channel = CHANNEL_NAMES.get(message.channel, message.channel)
    body = (
        f"<h1>{channel} 수신 거부</h1>"
        f"<p>아래 버튼을 누르시면 마케팅 {channel} 수신이 중단됩니다.</p>"
        '<form method="post">'
        '<button type="submit" name="confirm" value="yes">수신 거부</button>'
        "</form>"
    )
    return _page("수신 거부", body, 200)


@router.post("/u/{token}")
async def unsubscribe(token: str, request: Request) -> HTMLResponse:
    """RFC 8058 one-click or the page's form: record ``unsubscribed`` and apply it at once."""
    body = await request.body()
    # A signed token in a POST is the customer's intent; the body only says how it came.
    method = "one_click" if b"List-Unsubscribe=One-Click" in body else "page"
    return await run_in_threadpool(_unsubscribe, token, request, method)


def _unsubscribe(token: str, request: Request, method: str) -> HTMLResponse:
    message = _unsubscribing(token)
    if isinstance(message, HTMLResponse):
        return message
    event_id = f"unsubscribe:{message.id}"
    props = {
        **message.properties(),
        "channel": message.channel,
        "method": method,
        **_client(request),
    }
    try:
        result = ingest(
            [_event(event_id, "unsubscribed", message, clock.now(), props)], source="tracking"
        )
        # The worker would process it too, but an unsubscribe must hold before the
        # next send even when the broker lags; processing is idempotent. A repeat
        # request stores nothing, so look the event up: its first processing may
        # have failed.
        pks = result.stored_ids or _event_pks(event_id)
        process_events(pks)
    except Exception:
        log.exception("unsubscribe of message %s failed", message.id)
        return _page(
            "잠시 후 다시 시도해 주세요",
            "<h1>처리하지 못했습니다</h1><p>잠시 후 다시 시도해 주세요.</p>",
            503,
        )
    channel = CHANNEL_NAMES.get(message.channel, message.channel)
    return _page(
        "수신 거부 완료",
        f"<h1>수신 거부가 완료되었습니다</h1><p>마케팅 {channel} 수신이 중단되었습니다.</p>",
        200,
    )


def bot_reason(request: Request, message: MessageFacts, now: pendulum.DateTime) -> str | None:
    """Why this request looks like a mail scanner's pre-fetch, or None.

    A known scanner user agent (or none at all: browsers always send one), a
    prefetch/preview header, or a fetch within ``BOT_WINDOW_SECONDS`` of the send
    (before it, too: the send was recorded after a gateway fetched the links).
    """
    agent = request.headers.get("user-agent", "").lower()
    if not agent.strip():
        return "no_user_agent"
    if any(mark in agent for mark in BOT_AGENTS):
        return "user_agent"
    for name, value in PREFETCH_HEADERS:
        if value in request.headers.get(name, "").lower():
            return "prefetch_header"
    if message.sent_at is not None:
        elapsed = (now - message.sent_at).total_seconds()
        if elapsed < BOT_WINDOW_SECONDS:
            return "too_soon_after_send"
    return None


def _bot_props(reason: str | None) -> dict[str, Any]:
    return {"suspected_bot": True, "bot_reason": reason} if reason else {"suspected_bot": False}


def _client(request: Request) -> dict[str, Any]:
    # request.client is the peer; behind a proxy run uvicorn with --proxy-headers so it
    # is the customer and not the proxy (X-Forwarded-For is not trusted here).
    return {
        "user_agent": request.headers.get("user-agent", "")[:500] or None,
        "ip": request.client.host if request.client else None,
    }


def _unsubscribing(token: str) -> MessageFacts | HTMLResponse:
    """The message an unsubscribe link names, or the page that says why it cannot serve."""
    try:
        data = read_token(token, "unsubscribe")
    except BadToken as exc:
        return _bad_link(str(exc))
    return _load(data.message_id) or _missing()


def _message(token: str, kind: TokenKind) -> MessageFacts | None:
    try:
        data = read_token(token, kind)
    except BadToken:
        return None
    return _load(data.message_id)


def _load(message_id: int) -> MessageFacts | None:
    # A genuine token for a message that is gone (another database, a purge) records
    # nothing: an event needs the message's customer.
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


def _event(
    event_id: str,
    type_: str,
    message: MessageFacts,
    at: pendulum.DateTime,
    properties: dict[str, Any],
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": type_,
        "occurred_at": at.isoformat(),
        "customer_id": message.customer_id,
        "properties": properties,
    }


def _ingest_quietly(event: dict[str, Any]) -> None:
    try:
        result = ingest([event], source="tracking")
    except Exception:
        log.exception("could not record %s", event["event_id"])
        return
    if result.rejected:
        log.error("%s refused: %s", event["event_id"], result.results[0].errors)


def _event_pks(event_id: str) -> list[int]:
    with session_scope() as session:
        pk = session.exec(select(Event.id).where(Event.event_id == event_id)).first()
    return [pk] if pk is not None else []


def _bad_link(reason: str) -> HTMLResponse:
    body = (
        "<h1>링크가 올바르지 않습니다</h1>"
        "<p>링크가 손상되었거나 잘렸습니다. 받으신 메시지의 링크를 다시 눌러 주세요.</p>"
        f"<p><small>{html.escape(reason)}</small></p>"
    )
    return _page("링크 오류", body, 400)


def _missing() -> HTMLResponse:
    body = "<h1>메시지를 찾을 수 없습니다</h1><p>이 링크의 메시지가 더 이상 없습니다.</p>"
    return _page("링크 오류", body, 404)


def _page(title: str, body: str, status: int) -> HTMLResponse:
    page = (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
        "button{font-size:1rem;padding:.6rem 1.4rem}</style>"
        f"</head><body>{body}</body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=NO_STORE)
