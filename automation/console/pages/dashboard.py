"""The manager dashboard, ``/dashboard``: the period's conversion funnel beside the
period before, each journey's steps, goal rate and uplift over its holdout, campaigns
by journey, template and channel, suppressions by reason, each offer rule's people
shown, clicks, conversions and uplift over its holdout, and the web log for everyone
or one segment; ``/dashboard/{figure}.csv`` downloads any of them for the same choice.

The query: ``start`` and ``end`` (``YYYY-MM-DD``, both included) or ``days`` (the last
so many days), and ``segment`` (a published segment's id, for the web log); the last
30 days and everyone by default. A query the dashboard cannot answer (a malformed
date, an end before the start, an unknown segment) is the page again with the reason,
status 422, and no figures. The routes are plain functions: FastAPI runs them in its
thread pool, so the reports' SQL never blocks the event loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from automation.conditions import Condition
from automation.console.auth import Viewer, for_area
from automation.console.pages import dashboard_figures as figures
from automation.console.pages import dashboard_offers as offers
from automation.console.pages.dashboard_csv import Sheet, csv_bytes
from automation.console.render import HEADERS, page
from automation.console.roles import Area
from automation.db import session_scope
from automation.reports.campaigns import campaign_report
from automation.reports.funnel import funnel_report
from automation.reports.journeys import MIN_GROUP, journeys_report
from automation.reports.offers import MIN_GROUP as OFFER_MIN_GROUP
from automation.reports.offers import offer_report
from automation.reports.period import DEFAULT_DAYS, EARLIEST, LATEST, MAX_DAYS, Period
from automation.reports.weblog import weblog_report
from automation.segments import registry

router = APIRouter(include_in_schema=False)
Viewing = Annotated[Viewer, Depends(for_area(Area.DASHBOARD))]
EVERYONE = "전체 고객 Everyone"
QUICK_DAYS = (7, 30, 90)


class BadQuery(ValueError):
    """The query cannot be answered; the message says why, in words for the reader."""


@dataclass(frozen=True, slots=True)
class Choice:
    """What the dashboard shows: the period, the one before it, the web log's group."""

    period: Period
    previous: Period | None  # None: it would begin before the dates reports cover
    segment: str  # "" for everyone
    segment_name: str
    group: Condition | None

    def query(self) -> str:
        """The query string that chooses this again (for the CSV links)."""
        params = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        if self.segment:
            params["segment"] = self.segment
        return urlencode(params)


@dataclass(frozen=True, slots=True)
class Asked:
    """The query as typed, to fill the form again."""

    start: str = ""
    end: str = ""
    days: str = ""
    segment: str = ""


@router.get("/dashboard")
def dashboard(
    request: Request,
    viewer: Viewing,
    start: str = "",
    end: str = "",
    days: str = "",
    segment: str = "",
) -> Response:
    """The dashboard for the chosen period and web-log group."""
    asked = Asked(start.strip(), end.strip(), days.strip(), segment.strip())
    segments = _segments()
    try:
        choice = choose(asked, segments)
    except BadQuery as exc:
        return _page(request, viewer, asked, segments, error=str(exc), status=422)
    current = funnel_report(choice.period)
    before = None if choice.previous is None else funnel_report(choice.previous)
    campaigns = campaign_report(choice.period)
    weblog = weblog_report(choice.period, choice.group)
    return _page(
        request,
        viewer,
        Asked(choice.period.start.isoformat(), choice.period.end.isoformat(), "", choice.segment),
        segments,
        choice=choice,
        funnel=figures.funnel_lines(current, before),
        journeys=figures.journey_lines(journeys_report(choice.period)),
        campaigns=figures.campaign_lines(campaigns),
        suppressions=figures.suppression_lines(campaigns),
        offers=offers.offers(offer_report(choice.period)),
        weblog=weblog,
        weblog_lines=figures.weblog_lines(weblog),
    )


@router.get("/dashboard/{figure}.csv")
def download(
    request: Request,
    viewer: Viewing,
    figure: str,
    start: str = "",
    end: str = "",
    days: str = "",
    segment: str = "",
) -> Response:
    """One figure of the dashboard, for the same query, as a CSV file."""
    asked = Asked(start.strip(), end.strip(), days.strip(), segment.strip())
    segments = _segments()
    if figure not in figures.FIGURES:
        message = f"'{figure}' 자료는 없습니다: {', '.join(figures.FIGURES)} 중 하나입니다."
        return _page(request, viewer, asked, segments, error=message, status=404)
    try:
        choice = choose(asked, segments)
    except BadQuery as exc:
        return _page(request, viewer, asked, segments, error=str(exc), status=422)
    sheet = _sheet(figure, choice)
    name = "_".join(
        [figure, choice.period.start.isoformat(), choice.period.end.isoformat()]
        + ([_safe(choice.segment)] if choice.segment else [])
    )
    return Response(
        csv_bytes(sheet),
        media_type="text/csv; charset=utf-8",
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def choose(asked: Asked, segments: dict[str, tuple[str, Condition]]) -> Choice:
    """The period and group ``asked`` names.

    Raises:
        BadQuery: a malformed date or day count, an end before the start, a period
            outside the dates reports cover, an unknown segment.
    """
    period = _period(asked)
    previous = _previous(period)
    if asked.segment and asked.segment not in segments:
        raise BadQuery(
            f"세그먼트 '{asked.segment}'이(가) 없습니다 (unknown segment): 목록에서 골라 주세요."
        )
    name, group = segments[asked.segment] if asked.segment else (EVERYONE, None)
    return Choice(period, previous, asked.segment, name, group)


def _period(asked: Asked) -> Period:
    if asked.start or asked.end:
        first = _day(asked.start, "시작일 start") if asked.start else None
        last = _day(asked.end, "종료일 end") if asked.end else None
        if first and last and last < first:
            raise BadQuery(
                f"종료일 {last}이 시작일 {first}보다 앞섭니다 (end before start): "
                "기간을 다시 골라 주세요."
            )
        try:
            if first is None:
                return Period.last(DEFAULT_DAYS, today=last)
            return Period.of(first, last)
        except ValueError as exc:  # too long, or past the calendar: Period says which
            raise BadQuery(f"기간을 볼 수 없습니다 (bad period): {exc}") from None
    if asked.days:
        if not asked.days.isdigit() or not 1 <= int(asked.days) <= MAX_DAYS:
            raise BadQuery(
                f"일수 '{asked.days}'은(는) 1에서 {MAX_DAYS:,} 사이의 숫자여야 합니다 (days)."
            )
        return Period.last(int(asked.days))
    return Period.last(DEFAULT_DAYS)


def _day(text: str, name: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadQuery(
            f"{name} '{text}'은(는) 날짜가 아닙니다: YYYY-MM-DD 형식으로 입력해 주세요 "
            "(not a date)."
        ) from None
    if not EARLIEST <= day <= LATEST:
        raise BadQuery(f"{name} {day}은(는) {EARLIEST} – {LATEST} 밖입니다 (out of range).")
    return day


def _previous(period: Period) -> Period | None:
    """The period of the same length just before ``period``."""
    try:
        return Period(period.start - timedelta(days=period.days), period.start - timedelta(days=1))
    except ValueError:  # it would begin before EARLIEST: shown as "no previous period"
        return None


def _segments() -> dict[str, tuple[str, Condition]]:
    """Published segments by id: their names and compiled conditions."""
    with session_scope() as session:
        return {row.segment_id: (row.name, cond) for row, cond in registry.segments(session)}


def _sheet(figure: str, choice: Choice) -> Sheet:
    if figure == "funnel":
        before = None if choice.previous is None else funnel_report(choice.previous)
        return figures.funnel_sheet(figures.funnel_lines(funnel_report(choice.period), before))
    if figure == "journeys":
        return figures.journeys_sheet(journeys_report(choice.period))
    if figure == "campaigns":
        return figures.campaigns_sheet(campaign_report(choice.period))
    if figure == "suppressions":
        return figures.suppressions_sheet(campaign_report(choice.period))
    if figure == "offers":
        return offers.offers_sheet(offer_report(choice.period))
    weblog = weblog_report(choice.period, choice.group)
    return figures.weblog_sheet(weblog, choice.segment or "everyone")


def _safe(text: str) -> str:
    """A file-name part: segment ids are the user's; the header takes plain ASCII."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:64]


def _page(
    request: Request,
    viewer: Viewer,
    asked: Asked,
    segments: dict[str, tuple[str, Condition]],
    *,
    status: int = 200,
    error: str = "",
    **shown: Any,
) -> Response:
    context: dict[str, Any] = {
        "choice": None,
        "funnel": [],
        "journeys": [],
        "campaigns": [],
        "suppressions": [],
        "offers": None,
        "weblog": None,
        "weblog_lines": [],
        **shown,
    }
    return page(
        request,
        viewer,
        "dashboard.html",
        status=status,
        error=error,
        asked=asked,
        segments=[(key, name) for key, (name, _) in segments.items()],
        quick_days=QUICK_DAYS,
        min_group=MIN_GROUP,
        offer_min_group=OFFER_MIN_GROUP,
        channels=figures.CHANNELS,
        channel_names={"email": "이메일", "sms": "문자", "call": "전화"},
        **context,
    )
