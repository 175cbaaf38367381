"""Manager reports over a period (admin key): ``/v1/reports/{funnel,journeys,campaigns,weblog}``.

``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (dates inclusive, business time zone; the last 30
days by default) answers the report's ``to_dict()`` as JSON, or with ``?format=html``
the same figures as a self-contained page. A bad date or period is a 422 naming it.
The reports run set-based SQL and can take a moment on a large database: the routes
are plain functions, so FastAPI runs them in its thread pool, off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from automation.api.deps import AdminKey
from automation.reports.campaigns import DEFAULT_BY, campaign_report, dimensions
from automation.reports.funnel import funnel_report
from automation.reports.html import render_html
from automation.reports.journeys import journeys_report
from automation.reports.period import Period
from automation.reports.weblog import weblog_report

router = APIRouter(prefix="/v1/reports", tags=["reports"])

From = Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")]
To = Annotated[str | None, Query(alias="to", description="last day, YYYY-MM-DD (today)")]
Format = Annotated[Literal["json", "html"], Query(alias="format")]


@router.get("/funnel")
def funnel(_key: AdminKey, start: From = None, end: To = None, output: Format = "json") -> Any:
    """The conversion funnel: visitor → member → first policy → repeat."""
    return _answer("funnel", lambda p: funnel_report(p).to_dict(), start, end, output)


@router.get("/journeys")
def journeys(_key: AdminKey, start: From = None, end: To = None, output: Format = "json") -> Any:
    """Per journey and version: entered, per-step funnel, goal rate, holdout uplift."""
    return _answer("journeys", lambda p: journeys_report(p).to_dict(), start, end, output)


@router.get("/campaigns")
def campaigns(
    _key: AdminKey,
    start: From = None,
    end: To = None,
    output: Format = "json",
    by: Annotated[
        str | None, Query(description="comma-separated: journey,version,state,template,channel")
    ] = None,
) -> Any:
    """Messages decided in the period and their results, by journey, template and channel."""
    try:
        dims = DEFAULT_BY if by is None else dimensions([d for d in by.split(",") if d.strip()])
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return _answer("campaigns", lambda p: campaign_report(p, by=dims).to_dict(), start, end, output)


@router.get("/weblog")
def weblog(_key: AdminKey, start: From = None, end: To = None, output: Format = "json") -> Any:
    """Web-log analytics: visits, page views, preferences, paths, arrivals."""
    return _answer("weblog", lambda p: weblog_report(p).to_dict(), start, end, output)


def _answer(
    kind: str,
    report: Callable[[Period], dict[str, Any]],
    start: str | None,
    end: str | None,
    output: str,
) -> Response:
    try:
        period = Period.of(start, end)
    except ValueError as exc:  # not a date, or from after to: the message names which
        raise HTTPException(422, detail=str(exc)) from None
    data = report(period)
    if output == "html":
        return HTMLResponse(render_html(kind, data))
    return JSONResponse(data)
