"""``/ops/templates``: a template rendered for a chosen customer: the e-mail as it will
look (in a sandboxed frame, so its styles stay inside) with its text part, or the SMS
with its CP949 byte count and SMS/LMS kind. A preview is a GET: it changes nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from automation.channels.jinja import TemplateProblem
from automation.channels.sms_text import LMS_MAX_BYTES, SMS_MAX_BYTES
from automation.console.auth import Viewer, for_area
from automation.console.previews import (
    CHANNEL_LABELS,
    Preview,
    available,
    customer_choices,
    preview,
)
from automation.console.render import page
from automation.console.roles import Area
from automation.errors import NotFound

router = APIRouter(include_in_schema=False)
Ops = Annotated[Viewer, Depends(for_area(Area.OPS))]
MAX_FIELD = 100  # a template key or customer id is short; longer is not one


@router.get("/ops/templates", response_class=HTMLResponse)
def templates_page(
    request: Request, viewer: Ops, template: str = "", customer: str = ""
) -> Response:
    """The form (template, customer) and, once chosen, the rendered preview."""
    template, customer = template.strip()[:MAX_FIELD], customer.strip()[:MAX_FIELD]
    shown: Preview | None = None
    problem, status = "", 200
    if template:
        try:
            shown = preview(template, customer)
        except NotFound as exc:
            problem, status = _missing(str(exc), template, customer), 404
        except TemplateProblem as exc:
            problem, status = f"이 고객에게는 렌더링되지 않습니다 (does not render): {exc}", 422
    return page(
        request,
        viewer,
        "ops_templates.html",
        status=status,
        templates=available(),
        channel_labels=CHANNEL_LABELS,
        choices=customer_choices(),
        chosen=template,
        customer=customer,
        shown=shown,
        problem=problem,
        sms_max=SMS_MAX_BYTES,
        lms_max=LMS_MAX_BYTES,
    )


def _missing(reason: str, template: str, customer: str) -> str:
    if reason.startswith("no customer"):
        return f"고객 '{customer}'을(를) 찾을 수 없습니다 (no such customer)"
    return f"템플릿 '{template}'이(가) 없습니다 (no such template)"
