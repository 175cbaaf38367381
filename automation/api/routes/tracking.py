"""Tracking routes: the open pixel, link clicks, SMS short links and unsubscribes (no API
key: tokens and short codes are signed).

Each route checks its token, hands what happened to ``tracking/responses.py`` (which
makes the event, with its scanner flag and deterministic id, and ingests it) and
answers: the 1×1 GIF, the redirect, the unsubscribe pages. It decides nothing about
journeys.
"""

from __future__ import annotations

import html
import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from automation.channels.base import CHANNELS
from automation.tracking import responses, short
from automation.tracking.tokens import BadToken, read_token
from automation.worker.process import process_events

log = logging.getLogger(__name__)
router = APIRouter()

# The smallest transparent GIF (43 bytes).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/t/o/{token}")
def open_pixel(token: str, request: Request) -> Response:
    """Always the 1×1 GIF, whatever the token: a bad one records nothing and says nothing."""
    try:
        message_id: int | None = read_token(token, "open").message_id
    except BadToken:
        message_id = None
    if message_id is not None:
        responses.record_open(message_id, _fetch(request))
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/t/c/{token}")
def click(token: str, request: Request) -> Response:
    """Record the click, then 302 to the URL the token signs (nothing else: no open redirect)."""
    try:
        data = read_token(token, "click")
    except BadToken as exc:
        return PlainTextResponse(f"invalid link: {exc}", status_code=400, headers=NO_STORE)
    assert data.url is not None  # read_token guarantees a URL for clicks
    responses.record_click(data.message_id, data.url, _fetch(request))
    # no-store: a cached redirect would skip the next click's recording.
    return RedirectResponse(data.url, status_code=302, headers=NO_STORE)


@router.get("/s/{code}")
def short_link(code: str, request: Request) -> Response:
    """An SMS's short link: record the click, then 302 to the page of the insurer's site
    the code names (the product its message was decided with, or the consultation page…)."""
    target = short.follow(code, _fetch(request))
    if target is None:
        return _bad_link("the short link is not one of ours")
    return RedirectResponse(target, status_code=302, headers=NO_STORE)


@router.get("/u/{token}")
def unsubscribe_page(token: str) -> HTMLResponse:
    """The confirmation page; only its POST unsubscribes (scanners follow GET links)."""
    message = _unsubscribing(token)
    if isinstance(message, HTMLResponse):
        return message
    channel = _channel_name(message)
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
    try:
        pks = responses.record_unsubscribe(message, method, _fetch(request))
        # The worker would process it too, but an unsubscribe must hold before the
        # next send even when the broker lags; processing is idempotent.
        process_events(pks)
    except Exception:
        log.exception("unsubscribe of message %s failed", message.id)
        return _page(
            "잠시 후 다시 시도해 주세요",
            "<h1>처리하지 못했습니다</h1><p>잠시 후 다시 시도해 주세요.</p>",
            503,
        )
    channel = _channel_name(message)
    return _page(
        "수신 거부 완료",
        f"<h1>수신 거부가 완료되었습니다</h1><p>마케팅 {channel} 수신이 중단되었습니다.</p>",
        200,
    )


def _fetch(request: Request) -> responses.Fetch:
    # request.client is the peer; behind a proxy run uvicorn with --proxy-headers so it
    # is the customer and not the proxy (X-Forwarded-For is not trusted here).
    return responses.Fetch(request.headers, request.client.host if request.client else None)


def _unsubscribing(token: str) -> responses.MessageFacts | HTMLResponse:
    """The message an unsubscribe link names, or the page that says why it cannot serve."""
    try:
        data = read_token(token, "unsubscribe")
    except BadToken as exc:
        return _bad_link(str(exc))
    return responses.message_facts(data.message_id) or _missing()


def _channel_name(message: responses.MessageFacts) -> str:
    channel = CHANNELS.get(message.channel)
    return channel.label if channel else message.channel


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
