"""Manager reports over a period (admin key): ``/v1/reports/{funnel,journeys,campaigns,
weblog,segments,interest,products}``.

``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (dates inclusive, business time zone; the last 30
days by default) answers the report's ``to_dict()`` as JSON, with ``?format=html``
the same figures as a self-contained page, with ``?format=csv`` (not journeys) its
rows. A bad date or period is a 422 naming it; ``?segment=`` naming no segment a 404.
The reports run set-based SQL and can take a moment on a large database: the routes
are plain functions, so FastAPI runs them in its thread pool, off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from automation.api.deps import NO_NUL, AdminKey
from automation.reports.analysis import analysis_report
from automation.reports.api_examples import examples
from automation.reports.campaigns import DEFAULT_BY, campaign_report, dimensions
from automation.reports.flat import csv_text
from automation.reports.funnel import funnel_report
from automation.reports.html import render_html
from automation.reports.journeys import journeys_report
from automation.reports.period import Period
from automation.reports.segment_groups import UnknownSegment
from automation.reports.service import service_report
from automation.reports.weblog import weblog_report

router = APIRouter(prefix="/v1/reports", tags=["reports"])

From = Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")]
To = Annotated[str | None, Query(alias="to", description="last day, YYYY-MM-DD (today)")]
Format = Annotated[Literal["json", "html"], Query(alias="format")]
RowsFormat = Annotated[Literal["json", "html", "csv"], Query(alias="format")]
SegmentId = Annotated[
    str | None,
    Query(max_length=64, pattern=NO_NUL, description="only this segment's members"),
]


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


@router.get("/weblog", responses=examples("weblog"))
def weblog(
    _key: AdminKey,
    start: From = None,
    end: To = None,
    output: RowsFormat = "json",
    segment: SegmentId = None,
) -> Any:
    """Web-log analytics: visits, page views, preferences, paths, arrivals (the seed's
    table 2 for one segment with ``?segment=``)."""
    return _answer(
        "weblog", lambda p: weblog_report(p, segment=segment).to_dict(), start, end, output
    )


@router.get("/segments", responses=examples("segments"))
def segments(
    _key: AdminKey,
    start: From = None,
    end: To = None,
    output: RowsFormat = "json",
    segment: SegmentId = None,
) -> Any:
    """Each segment's web usage by age band × gender: page views, visits a week, top
    content, category and product."""
    return _answer(
        "segments", lambda p: analysis_report("segments", p, segment=segment), start, end, output
    )


@router.get("/interest", responses=examples("interest"))
def interest(
    _key: AdminKey,
    start: From = None,
    end: To = None,
    output: RowsFormat = "json",
    segment: SegmentId = None,
    days: Annotated[
        int, Query(ge=1, le=366, description="a purchase counts within this many days of from")
    ] = 30,
) -> Any:
    """Conversion to a first or repeat policy within ``days`` of the period's start, per
    segment, by the customers' online interest in the 30 days before it."""
    return _answer(
        "interest",
        lambda p: analysis_report("interest", p, segment=segment, days=days),
        start,
        end,
        output,
    )


@router.get("/products", responses=examples("products"))
def products(
    _key: AdminKey,
    start: From = None,
    end: To = None,
    output: RowsFormat = "json",
    segment: SegmentId = None,
) -> Any:
    """Per product: views, viewers, interested customers, purchases, view → purchase
    rate; products viewed but never bought flagged."""
    return _answer(
        "products", lambda p: analysis_report("products", p, segment=segment), start, end, output
    )


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
    try:
        data = report(period)
    except UnknownSegment as exc:
        raise HTTPException(404, detail=str(exc)) from None
    if output == "html":
        return HTMLResponse(render_html(kind, data))
    if output == "csv":
        return PlainTextResponse(csv_text(kind, data), media_type="text/csv; charset=utf-8")
    return JSONResponse(data)


@router.get("/service", responses=examples("service"))
def service(_key: AdminKey, start: From = None, end: To = None, output: RowsFormat = "json") -> Any:
    """The service desk per category: complaints and inquiries opened, closed, open now,
    hours to close (median, 90th percentile) and outcomes."""
    return _answer("service", service_report, start, end, output)
