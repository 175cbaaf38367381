"""``POST /v1/events``: one event or ``{"events": [...]}``, up to the batch limit."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from automation import metrics
from automation.api.deps import IngestKey
from automation.config import get_settings
from automation.events.ingest import ingest

router = APIRouter()


@router.post("/v1/events", status_code=202)
async def post_events(request: Request, _key: IngestKey) -> Response:
    """202 when every event is stored or a duplicate; 422 listing reasons when any is refused
    (the valid ones are stored all the same: resending the batch is safe)."""
    body = await request.body()
    events, problem = _parse(body)
    if problem is not None:
        return _json(problem[0], {"error": problem[1]})
    with metrics.INGEST_BATCH_SECONDS.time():
        outcome = await run_in_threadpool(ingest, events, source="api")
    return _json(422 if outcome.rejected else 202, outcome.summary())


def _parse(body: bytes) -> tuple[list[Any], tuple[int, str] | None]:
    if not body.strip():
        return [], (400, 'the request body is empty; send an event or {"events": [...]}')
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return [], (400, f"the body is not valid JSON: {exc}")
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


def _json(status: int, payload: Any) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")
