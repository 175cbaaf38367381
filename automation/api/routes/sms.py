"""``POST /v1/sms/callback``: the SMS gateway's delivery reports and replies.

The generic gateway (``channels/sms.py``) is told this URL (``SMS_CALLBACK_URL``) with
every message. It posts ``{"message_key", "status": "delivered"|"failed", "reply",
"provider_id", "at"}``, one report or ``{"reports": [...]}`` (at most ``INGEST_BATCH_MAX``),
with an ingest or system key.
``tracking/responses.py`` makes each report an event tied to its message (once, however
often the gateway retries); this route parses the body and shapes the answer.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from automation.api.deps import GatewayKey
from automation.config import get_settings
from automation.tracking.responses import record_sms_reports

router = APIRouter()


@router.post("/v1/sms/callback", status_code=202)
async def sms_callback(request: Request, _key: GatewayKey) -> Response:
    """202 with a result per report; 422 naming what is wrong with a report (the others
    are stored all the same); 413 for more reports than a batch holds."""
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return _json(400, {"error": f"the body is not valid JSON: {exc}"})
    reports = data.get("reports") if isinstance(data, dict) and "reports" in data else [data]
    if not isinstance(reports, list) or not reports:
        return _json(422, {"error": 'send one report or {"reports": [...]}'})
    limit = get_settings().ingest_batch_max
    if len(reports) > limit:
        return _json(413, {"error": f"at most {limit} reports at once; this has {len(reports)}"})
    return await run_in_threadpool(_handle, reports)


def _handle(reports: list[Any]) -> Response:
    result = record_sms_reports(reports)
    body: dict[str, Any] = {"accepted": result.accepted, "refused": result.refused}
    if result.duplicates is not None:
        body["duplicates"] = result.duplicates
    return _json(422 if result.refused else 202, body)


def _json(status: int, payload: Any) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")
