"""``POST /v1/sms/callback``: the SMS gateway's delivery reports and replies.

The generic gateway (``channels/sms.py``) is told this URL (``SMS_CALLBACK_URL``) with
every message. It posts ``{"message_key", "status": "delivered"|"failed", "reply",
"provider_id", "at"}``, one report or ``{"reports": [...]}``, with an ingest key.
Each report becomes an event tied to its message: ``sms_delivered`` for a delivery,
``sms_replied`` for a reply (its text in ``reply``), ``sms_failed`` for a carrier's
refusal. Event ids name the message and what happened, so a gateway that retries a
callback stores it once.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import select

from automation import clock
from automation.api.deps import IngestKey
from automation.db import session_scope
from automation.events.ingest import ingest
from automation.models import Message

router = APIRouter()
STATUSES = {"delivered": "sms_delivered", "failed": "sms_failed", "reply": "sms_replied"}


@router.post("/v1/sms/callback", status_code=202)
async def sms_callback(request: Request, _key: IngestKey) -> Response:
    """202 with a result per report; 422 naming what is wrong with a report."""
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return _json(400, {"error": f"the body is not valid JSON: {exc}"})
    reports = data.get("reports") if isinstance(data, dict) and "reports" in data else [data]
    if not isinstance(reports, list) or not reports:
        return _json(422, {"error": 'send one report or {"reports": [...]}'})
    return await run_in_threadpool(_handle, reports)


def _handle(reports: list[Any]) -> Response:
    problems: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    keys = [r.get("message_key") for r in reports if isinstance(r, dict)]
    with session_scope() as session:
        found = {
            m.idempotency_key: m
            for m in session.exec(select(Message).where(Message.idempotency_key.in_(keys)))  # type: ignore[union-attr]
        }
    for i, report in enumerate(reports):
        event, problem = _event(report, found)
        if problem:
            problems.append({"index": i, "error": problem})
        else:
            events.append(event)  # type: ignore[arg-type]
    stored = ingest(events, source="sms") if events else None
    body = {"accepted": stored.count("accepted") if stored else 0, "refused": problems}
    if stored:
        body["duplicates"] = stored.count("duplicate")
    return _json(422 if problems else 202, body)


def _event(report: Any, found: dict[str, Message]) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(report, dict):
        return None, "a report is an object"
    message = found.get(str(report.get("message_key")))
    if message is None:
        return None, f"no SMS with message_key {report.get('message_key')!r}"
    reply = report.get("reply")
    status = "reply" if reply else report.get("status")
    if status not in STATUSES:
        return None, "status: delivered or failed (or a reply with its text)"
    detail = hashlib.sha1(str(reply).encode()).hexdigest()[:12] if reply else status
    properties: dict[str, Any] = {
        "message_id": message.id,
        "journey_id": message.journey_id,
        "enrollment_id": message.enrollment_id,
        "template": message.template,
        "provider_id": report.get("provider_id"),
    }
    if reply:
        properties["reply"] = str(reply)[:1000]
    return {
        "event_id": f"sms:{message.id}:{detail}",
        "type": STATUSES[status],
        "occurred_at": report.get("at") or clock.now().isoformat(),
        "customer_id": message.customer_id,
        "properties": properties,
    }, None


def _json(status: int, payload: Any) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")
