"""The customer's consent page: ``GET /consent/{token}`` shows their consents with
their dates and a form; ``POST`` records the answer (no API key: the signed link is
the capability, and the page's form posts back to the same address).

The answer becomes ``consent_changed`` events (source ``consent_page``) through
``customers/consent.py``, processed at once like an unsubscribe, so the page shows
the result and the next send obeys it. A bad or expired link gets a Korean page that
says what to do, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from automation import clock
from automation.channels.variables import sender
from automation.console.render import HEADERS, environment
from automation.customers.consent import PAGE_KINDS, answer_from_page, consent_state, state_basis
from automation.customers.consent_link import BadConsentLink, read_consent_token
from automation.delivery.policy import ad_consent_lapses
from automation.errors import NotFound, ValidationError
from automation.worker.process import process_events

log = logging.getLogger(__name__)
router = APIRouter()
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TITLE = "광고성 정보 수신 동의 확인"
_BASIS = re.compile(r"[0-9a-f]{16}")
ANSWERS = {"yes": True, "no": False}


@router.get("/consent/{token}", include_in_schema=False)
def consent_page(token: str) -> HTMLResponse:
    """The customer's consents and the form to keep or withdraw them."""
    found = _customer(token)
    if isinstance(found, HTMLResponse):
        return found
    return _form(found[1], saved=None)


@router.post("/consent/{token}", include_in_schema=False)
async def consent_answer(token: str, request: Request) -> HTMLResponse:
    """Record the answer (the same form posted twice counts once) and show the result."""
    form = await request.form()
    fields = {key: form.get(key) for key in (*PAGE_KINDS, "basis")}
    return await run_in_threadpool(_answer, token, fields)


def _answer(token: str, fields: dict[str, Any]) -> HTMLResponse:
    found = _customer(token)
    if isinstance(found, HTMLResponse):
        return found
    customer_id, _ = found
    answers = {kind: ANSWERS.get(str(fields[kind])) for kind in PAGE_KINDS}
    basis = str(fields["basis"] or "")
    if any(value is None for value in answers.values()) or not _BASIS.fullmatch(basis):
        return _problem(
            400,
            "답변을 읽지 못했습니다.",
            "항목마다 유지 또는 철회를 하나씩 고른 뒤 다시 눌러 주세요.",
        )
    try:
        stored = answer_from_page(customer_id, {k: bool(v) for k, v in answers.items()}, basis)
        # The worker would process them too, but a withdrawal must hold before the
        # next send even when the broker lags; processing is idempotent.
        process_events(stored)
    except (NotFound, ValidationError) as exc:
        return _problem(400, "답변을 처리하지 못했습니다.", str(exc))
    except Exception:
        log.exception("consent answer of %s failed", customer_id)
        return _problem(
            503, "잠시 후 다시 시도해 주세요.", "일시적인 문제로 답변을 저장하지 못했습니다."
        )
    return _form(consent_state(customer_id) or {}, saved=clock.now())


def _customer(token: str) -> tuple[str, dict[str, Any]] | HTMLResponse:
    """The customer the link names with their consents, or the page that says why it
    cannot serve."""
    try:
        customer_id, _ = read_consent_token(token)
    except BadConsentLink as exc:
        if exc.expired:
            return _problem(
                410,
                "링크의 유효기간이 지났습니다.",
                "가장 최근에 받으신 안내 메일이나 문자의 링크를 눌러 주세요. "
                "없으시면 고객센터로 연락 주시면 동의 내용을 확인해 드립니다.",
            )
        return _problem(
            400,
            "링크가 올바르지 않습니다.",
            "링크가 손상되었거나 잘렸습니다. 받으신 메일이나 문자의 링크를 다시 눌러 주세요.",
        )
    state = consent_state(customer_id)
    if state is None:
        return _problem(404, "고객 정보를 찾을 수 없습니다.", "고객센터로 연락 주세요.")
    return customer_id, state


def _form(state: dict[str, Any], saved: datetime | None) -> HTMLResponse:
    ad = state.get("ad") or {}
    lapses = ad_consent_lapses(ad["at"]) if ad.get("granted") and ad.get("at") else None
    context = {
        "consents": state,
        "asked": PAGE_KINDS,
        "basis": state_basis(state),
        "ad_lapses": lapses,
        "saved": saved,
    }
    return _render(200, title=TITLE, problem=None, **context)


def _problem(status: int, problem: str, advice: str) -> HTMLResponse:
    return _render(status, title=TITLE, problem=problem, advice=advice)


def _render(status: int, **context: Any) -> HTMLResponse:
    html = _environment().get_template("consent.html").render(sender=sender(), **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


@functools.cache
def _environment() -> Environment:
    return environment(TEMPLATES)
