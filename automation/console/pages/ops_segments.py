"""``/ops/segments``: every segment with its size and last refresh, a refresh button;
``/ops/segments/{id}``: its definition, size, membership history and refresh."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, QueryParams

from automation.console.auth import Viewer, for_area, form_of
from automation.console.render import page
from automation.console.roles import Area
from automation.console.segment_facts import WINDOW_DAYS, local_time, segment_detail, segment_rows
from automation.errors import NotFound
from automation.segments.membership import refresh

router = APIRouter(include_in_schema=False)
Ops = Annotated[Viewer, Depends(for_area(Area.OPS))]
OpsForm = Annotated[tuple[Viewer, FormData], Depends(form_of(Area.OPS))]


@router.get("/ops/segments", response_class=HTMLResponse)
def segments_page(request: Request, viewer: Ops) -> Response:
    """Every segment: name, size, definition, last refresh."""
    return page(
        request,
        viewer,
        "ops_segments.html",
        rows=segment_rows(),
        refreshed=_refreshed(request.query_params),
        local_time=local_time,
    )


@router.get("/ops/segments/{segment_id}", response_class=HTMLResponse)
def segment_page(request: Request, segment_id: str, viewer: Ops) -> Response:
    """One segment: definition, size, who entered and left, refresh."""
    try:
        row, history = segment_detail(segment_id)
    except NotFound:
        return _not_found(request, viewer, segment_id)
    return page(
        request,
        viewer,
        "ops_segment.html",
        row=row,
        history=history,
        window_days=WINDOW_DAYS,
        refreshed=_refreshed(request.query_params),
        local_time=local_time,
    )


@router.post("/ops/segments/{segment_id}/refresh", response_class=HTMLResponse)
def refresh_segment(request: Request, segment_id: str, sent: OpsForm) -> Response:
    """Recompute the segment's members now (entries and exits become events, except on
    a new segment's first fill); back to where the button was, with what changed."""
    viewer, form = sent
    try:
        done = refresh(segment_id)
    except NotFound:
        return _not_found(request, viewer, segment_id)
    back = f"/ops/segments/{segment_id}" if form.get("back") == "detail" else "/ops/segments"
    query = {
        "refreshed": done.segment_id,
        "members": done.members,
        "entered": done.entered,
        "exited": done.exited,
    }
    return RedirectResponse(f"{back}?{urlencode(query)}", status_code=303)


def _refreshed(query: QueryParams) -> dict[str, str] | None:
    """What the last refresh changed, from the redirect's query."""
    if not query.get("refreshed"):
        return None
    return {k: query.get(k) or "0" for k in ("refreshed", "members", "entered", "exited")}


def _not_found(request: Request, viewer: Viewer, segment_id: str) -> Response:
    return page(
        request,
        viewer,
        "error.html",
        status=404,
        title="Not found",
        message=f"'{segment_id}' 세그먼트가 없습니다 (no such segment)",
    )
