"""``POST /v1/events``: one event or ``{"events": [...]}``, up to the batch limit."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from automation import metrics
from automation.api.deps import EventsKey
from automation.api.scopes import ingest_as
from automation.config import get_settings

router = APIRouter()
PARSER_DEPTH = 1024  # orjson's own limit; an event's properties may nest far less


@router.post("/v1/events", status_code=202)
async def post_events(request: Request, scope: EventsKey) -> Response:
    """202 when every event is stored or a duplicate; 422 listing reasons when any is refused
    (the valid ones are stored all the same: resending the batch is safe). An event the
    key's scope may not send is refused like an invalid one (``api/scopes.py``)."""
    body = await request.body()
    events, problem = _parse(body)
    if problem is not None:
        return _json(problem[0], {"error": problem[1]})
    with metrics.INGEST_BATCH_SECONDS.time():
        outcome = await run_in_threadpool(ingest_as, scope, events)
    return _json(422 if outcome.rejected else 202, outcome.summary())


def _parse(body: bytes) -> tuple[list[Any], tuple[int, str] | None]:
    if not body.strip():
        return [], (400, 'the request body is empty; send an event or {"events": [...]}')
    data, invalid = _loads(body)
    if invalid is not None:
        return [], (400, invalid)
    if isinstance(data, dict) and "events" in data:
        if set(data) != {"events"}:
            extra = sorted(set(data) - {"events"})
            return [], (422, f"a batch has only the key 'events'; unknown: {', '.join(extra)}")
        events = data["events"]
        if not isinstance(events, list):
            return [], (422, "'events' must be an array")
    elif isinstance(data, dict):
        events = [data]
    else:
        return [], (422, 'send one event object or {"events": [...]}')
    limit = get_settings().ingest_batch_max
    if not events:
        return [], (422, "'events' is empty")
    if len(events) > limit:
        return [], (413, f"a batch holds at most {limit} events; this one has {len(events)}")
    return events, None


def _loads(body: bytes) -> tuple[Any, str | None]:
    """The decoded body, or why it is refused whole."""
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError as exc:
        message = str(exc)
    if message.startswith("depth limit exceeded"):  # valid JSON, past orjson's limit
        return None, f"the body nests deeper than {PARSER_DEPTH} levels of arrays and objects"
    if "surrogate" in message or "infinity" in message:
        # A lone surrogate escape ("\\ud800") or a number past a double's range is JSON
        # that orjson refuses; the standard library reads it, so only the event holding
        # it is refused (events/limits.py).
        try:
            return json.loads(body.decode("utf-8"), parse_constant=_no_constant), None
        except RecursionError:  # its limit is Python's, below orjson's
            return None, "the body nests arrays and objects too deeply to read"
        except ValueError:
            pass
    return None, f"the body is not valid JSON: {message}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(status: int, payload: Any) -> Response:
    try:
        content = orjson.dumps(payload)
    except orjson.JSONEncodeError:  # a lone surrogate quoted back from such a body
        content = json.dumps(payload).encode()  # ASCII, the surrogate as an escape
    return Response(content, status_code=status, media_type="application/json")
