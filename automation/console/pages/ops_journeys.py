"""``/ops/journeys``: the journeys with their versions and customers per state, pause
and resume, a YAML upload validated (``FILE:LINE`` problems on the page) and published
as a new version; ``/ops/journeys/{id}``: one journey's versions, its state machine as
a diagram, and the YAML of the version shown."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from automation.console.auth import Viewer, for_area, form_of
from automation.console.diagram import journey_svg, legend, transitions
from automation.console.journey_files import (
    MAX_UPLOAD_BYTES,
    UploadTooLarge,
    read_upload,
    spec_of,
    upload_name,
    versions,
)
from automation.console.render import page
from automation.console.roles import Area
from automation.errors import NotFound
from automation.journeys.registry import publish_text, set_status, summary
from automation.journeys.spec import SpecError
from automation.models import JourneyStatus

router = APIRouter(include_in_schema=False)
Ops = Annotated[Viewer, Depends(for_area(Area.OPS))]
OpsForm = Annotated[tuple[Viewer, FormData], Depends(form_of(Area.OPS))]
STATUS_LABELS = {"active": "운영 중 active", "paused": "일시 중지 paused"}


@router.get("/ops/journeys", response_class=HTMLResponse)
def journeys_page(request: Request, viewer: Ops) -> Response:
    """Every journey, its status, versions and customers per state; the upload form."""
    return _list(request, viewer)


@router.post("/ops/journeys/upload", response_class=HTMLResponse)
def upload_journey(request: Request, sent: OpsForm) -> Response:
    """Validate the uploaded YAML and publish it; the list page with every problem
    (4xx) if it is refused, nothing written."""
    viewer, form = sent
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _list(request, viewer, status=400, errors=["파일을 선택해 주세요 (choose a file)"])
    name = upload_name(upload.filename)
    try:
        # One byte over the limit is enough to refuse; the rest is never read.
        text = read_upload(upload.file.read(MAX_UPLOAD_BYTES + 1), name)
        published = publish_text(text, name)
    except UploadTooLarge as exc:
        return _list(request, viewer, status=413, errors=exc.problems, filename=name)
    except SpecError as exc:
        return _list(request, viewer, status=422, errors=exc.problems, filename=name)
    query = {"published": published.journey_id, "version": published.version}
    if not published.created:
        query["unchanged"] = 1
    return RedirectResponse(f"/ops/journeys?{urlencode(query)}", status_code=303)


@router.post("/ops/journeys/{journey_id}/status", response_class=HTMLResponse)
def change_status(request: Request, journey_id: str, sent: OpsForm) -> Response:
    """Pause (no new entrants; customers keep their place) or resume a journey."""
    viewer, form = sent
    wanted = form.get("status")
    if wanted not in STATUS_LABELS:
        return _list(request, viewer, status=400, message="status는 active 또는 paused입니다")
    try:
        set_status(journey_id, JourneyStatus(str(wanted)))
    except NotFound:
        return _not_found(request, viewer, journey_id)
    back = f"/ops/journeys/{journey_id}" if form.get("back") == "detail" else "/ops/journeys"
    return RedirectResponse(f"{back}?{urlencode({'changed': wanted})}", status_code=303)


@router.get("/ops/journeys/{journey_id}", response_class=HTMLResponse)
def journey_page(request: Request, journey_id: str, viewer: Ops, version: str = "") -> Response:
    """One journey: versions with customers per state, the diagram, the YAML."""
    try:
        journey, views = versions(journey_id)
    except NotFound:
        return _not_found(request, viewer, journey_id)
    wanted = int(version) if version.isdigit() else None
    shown = next((v for v in views if v.version == wanted or not version), None)
    if shown is None:
        return page(
            request,
            viewer,
            "error.html",
            status=404,
            title="Not found",
            message=f"{journey_id} 여정에 버전 {version}이(가) 없습니다 (no such version)",
        )
    spec = spec_of(shown)
    active = {s: n for s, n in shown.counts.items() if s in spec.states}
    states = sorted({s for v in views for s in v.counts}, key=_state_order(list(spec.states)))
    return page(
        request,
        viewer,
        "ops_journey.html",
        journey=journey,
        status_label=STATUS_LABELS.get(journey.status, journey.status),
        views=views,
        shown=shown,
        spec=spec,
        states=states,
        diagram=Markup(journey_svg(spec, active)),  # journey_svg escapes every text itself
        edges=transitions(spec),
        legend=legend(spec),
        changed=request.query_params.get("changed"),
    )


def _list(
    request: Request,
    viewer: Viewer,
    *,
    status: int = 200,
    errors: list[str] | None = None,
    filename: str = "",
    message: str = "",
) -> Response:
    rows = [_row(j) for j in summary()]
    query = request.query_params
    return page(
        request,
        viewer,
        "ops_journeys.html",
        status=status,
        rows=rows,
        errors=errors or [],
        filename=filename,
        message=message,
        published=query.get("published") if status == 200 else None,
        version=query.get("version"),
        unchanged=bool(query.get("unchanged")),
        changed=query.get("changed") if status == 200 else None,
        limit_kb=MAX_UPLOAD_BYTES // 1024,
    )


def _row(journey: dict[str, Any]) -> dict[str, Any]:
    """A list row: customers per state over every version, and in total."""
    states: dict[str, int] = {}
    for per in journey["customers"].values():
        for state, n in per.items():
            states[state] = states.get(state, 0) + n
    return {
        **journey,
        "status_label": STATUS_LABELS.get(journey["status"], journey["status"]),
        "states": sorted(states.items()),
        "total": sum(states.values()),
        "by_version": sorted(journey["customers"].items(), key=lambda kv: kv[0]),
    }


def _state_order(order: list[str]) -> Any:
    # The spec's states in file order, then how customers finished.
    return lambda s: (order.index(s), "") if s in order else (len(order), s)


def _not_found(request: Request, viewer: Viewer, journey_id: str) -> Response:
    return page(
        request,
        viewer,
        "error.html",
        status=404,
        title="Not found",
        message=f"'{journey_id}' 여정이 없습니다 (no such journey)",
    )
