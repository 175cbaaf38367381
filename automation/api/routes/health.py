"""``/healthz`` (liveness and the database) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from automation.db import get_engine

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/healthz")
def healthz() -> JSONResponse:
    """200 when the database answers, 503 when it does not. The answer is public: the
    reason (which names the database's host) goes to the log, not to the caller."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("healthz: the database does not answer: %s", str(exc).splitlines()[0][:300])
        return JSONResponse({"status": "unavailable", "database": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
