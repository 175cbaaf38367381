"""The request body's size limit (``MAX_BODY_BYTES``), for every route.

A declared ``Content-Length`` over the limit is answered 413 before a byte of the body
is read; a body without one (chunked) is counted as it streams in and refused as soon
as it passes the limit, so a 60 MB body costs the server at most the limit.
"""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from automation.config import get_settings


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the body passes the limit: FastAPI passes an
    ``HTTPException`` raised while it reads a body through as the 413 it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=too_large(limit))


def too_large(limit: int) -> str:
    return (
        f"the request body is over {limit:,} bytes (MAX_BODY_BYTES); "
        "send it in smaller parts (batches of fewer events)"
    )


class BodyLimit:
    """ASGI middleware: refuses a request body over ``max_bytes`` (default: the setting,
    read per request) with 413 and its reason."""

    def __init__(self, app: ASGIApp, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes or get_settings().max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer_413(send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _answer_413(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


async def _answer_413(send: Send, limit: int) -> None:
    body = orjson.dumps({"detail": too_large(limit)})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
