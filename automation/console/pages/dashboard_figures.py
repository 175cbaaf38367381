"""The dashboard's figures: each report shaped once, for the page and for its CSV.

Every figure is a ``dashboard_csv.Sheet`` (the CSV's header and rows, raw numbers: rates as
fractions, so a spreadsheet can compute with them) beside the lines the template
shows (labels, formatted rates, bar widths). Both come from the same report object,
so the page and its download cannot disagree. Wording reuses the HTML report's
(``html_sections``, ``html_journeys``): "목표 없음" where a journey has no goal, never 0%.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from automation.console.pages.dashboard_csv import Sheet
from automation.reports.campaigns_figures import CampaignReport, Counts
from automation.reports.funnel import FunnelReport
from automation.reports.html_charts import bar_chart
from automation.reports.html_journeys import NO_GOAL, VERDICT_NAMES
from automation.reports.html_parts import pct, points
from automation.reports.html_sections import CHANNEL_NAMES, RUNG_NAMES
from automation.reports.journeys_figures import JourneyResult, JourneysReport
from automation.reports.weblog_figures import WeblogReport

FIGURES = ("funnel", "journeys", "campaigns", "suppressions", "offers", "weblog")
CHANNELS = ("email", "sms", "call")
REASON_NAMES = {
    "no_email_consent": "이메일 수신 미동의",
    "no_sms_consent": "문자 수신 미동의",
    "no_call_consent": "전화 수신 미동의",
    "no_ad_consent": "광고 수신 미동의",
    "ad_consent_expired": "광고 동의 만료",
    "unsubscribed": "수신 거부",
    "hard_bounced": "영구 반송",
    "do_not_call": "통화 거부",
    "cap_journey_week": "여정별 주간 한도",
    "cap_total_week": "전체 주간 한도",
    "unspecified": "사유 없음",
}


# --- the funnel, beside the previous period -------------------------------------------


@dataclass(frozen=True, slots=True)
class FunnelLine:
    """A rung this period and the period before."""

    rung: str
    label: str
    reached: int
    rate: float | None
    moved_in: int | None
    previous: int | None  # None: no previous period (it would fall before the calendar)
    previous_rate: float | None
    bar: float  # this period's bar, as a share of the longest bar (0 to 1)
    previous_bar: float

    @property
    def change(self) -> int | None:
        return None if self.previous is None else self.reached - self.previous

    @property
    def change_rate(self) -> float | None:
        return None if not self.previous else (self.reached - self.previous) / self.previous


def funnel_lines(current: FunnelReport, previous: FunnelReport | None) -> list[FunnelLine]:
    """The rungs of ``current`` with ``previous``'s beside them."""
    before = {r.name: r for r in previous.rungs} if previous else {}
    top = max([r.reached for r in current.rungs] + [r.reached for r in before.values()] + [1])
    lines = []
    for r in current.rungs:
        p = before.get(r.name)
        lines.append(
            FunnelLine(
                rung=r.name,
                label=RUNG_NAMES.get(r.name, r.name),
                reached=r.reached,
                rate=r.rate,
                moved_in=r.moved_in,
                previous=None if p is None else p.reached,
                previous_rate=None if p is None else p.rate,
                bar=r.reached / top,
                previous_bar=0.0 if p is None else p.reached / top,
            )
        )
    return lines


def funnel_sheet(lines: Sequence[FunnelLine]) -> Sheet:
    header = (
        "rung",
        "단계",
        "reached",
        "rate",
        "moved_in",
        "previous_reached",
        "previous_rate",
        "change",
    )
    rows = [
        (
            x.rung,
            x.label,
            x.reached,
            x.rate,
            x.moved_in,
            x.previous,
            x.previous_rate,
            x.change,
        )
        for x in lines
    ]
    return Sheet(header, rows)


# --- journeys -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JourneyLine:
    """A journey's outcomes, its uplift over the holdout in words, and its steps."""

    result: JourneyResult
    goal_rate: str  # a percentage, or "목표 없음 (no goal)"
    treated_rate: str
    holdout_rate: str
    uplift: str  # signed points, or why there is none (no goal, no holdout …)
    interval: str  # "low ~ high" in points, or a dash
    verdict: str  # the verdict in words
    steps_chart: Markup

    @property
    def name(self) -> str:
        return self.result.name or self.result.journey_id


def journey_lines(report: JourneysReport) -> list[JourneyLine]:
    """One line per journey of ``report``."""
    return [_journey_line(j) for j in report.journeys]


def _journey_line(j: JourneyResult) -> JourneyLine:
    o, goal = j.outcomes, j.has_goal
    verdict = o.verdict(goal).value
    interval = o.uplift_interval if goal else None
    steps = [
        (
            f"{s.state} (종료)" if s.end else s.state,
            s.reached,
            f"{s.reached:,} ({pct(s.share)})",
        )
        for s in j.steps
    ]
    return JourneyLine(
        result=j,
        goal_rate=pct(o.goal_rate) if goal else NO_GOAL,
        treated_rate=pct(o.treatment.rate) if goal else NO_GOAL,
        holdout_rate=pct(o.control.rate) if goal else NO_GOAL,
        # The difference seen is shown whenever there is one; the verdict beside it says
        # whether it means anything (a group under MIN_GROUP: "too small to tell").
        uplift=points(o.uplift) if goal and o.uplift is not None else VERDICT_NAMES[verdict],
        interval="–" if interval is None else f"{points(interval[0])} ~ {points(interval[1])}",
        verdict=VERDICT_NAMES[verdict],
        # bar_chart escapes every label and text it draws.
        steps_chart=Markup(str(bar_chart(f"{j.name or j.journey_id} 단계별 도달", steps))),
    )


def journeys_sheet(report: JourneysReport) -> Sheet:
    header = (
        "journey",
        "name",
        "entered",
        "converted",
        "completed",
        "exited",
        "active",
        "has_goal",
        "goal_rate",
        "treated_entered",
        "treated_converted",
        "holdout_entered",
        "holdout_converted",
        "uplift",
        "ci_low",
        "ci_high",
        "verdict",
        "steps",
    )
    rows = []
    for j in report.journeys:
        o, goal = j.outcomes, j.has_goal
        low, high = (o.uplift_interval if goal else None) or (None, None)
        rows.append(
            (
                j.journey_id,
                j.name,
                o.entered,
                o.converted if goal else None,
                o.completed,
                o.exited,
                o.active,
                "yes" if goal else "no",
                o.goal_rate if goal else None,
                o.treatment.entered,
                o.treatment.converted if goal else None,
                o.control.entered,
                o.control.converted if goal else None,
                o.uplift if goal else None,
                low,
                high,
                o.verdict(goal).value,
                " | ".join(f"{s.state}:{s.reached}" for s in j.steps),
            )
        )
    return Sheet(header, rows)


# --- campaigns and suppressions -------------------------------------------------------

_COUNTS = ("decided", "sent", "delivered", "opened", "clicked", "converted", "suppressed_total")
_RATES = ("open_rate", "click_rate", "conversion_rate")


@dataclass(frozen=True, slots=True)
class CampaignLine:
    """Messages of one journey, template and channel (``total``: all of them)."""

    journey: str | None
    template: str | None
    channel: str | None
    channel_label: str
    counts: Counts
    total: bool = False


def campaign_lines(report: CampaignReport) -> list[CampaignLine]:
    """Each group of ``report`` (by journey, template, channel), then the total."""
    lines = []
    for row in report.rows:
        channel = row.key.get("channel")
        lines.append(
            CampaignLine(
                journey=_text(row.key.get("journey")),
                template=_text(row.key.get("template")),
                channel=_text(channel),
                channel_label=CHANNEL_NAMES.get(str(channel), str(channel or "–")),
                counts=row.counts,
            )
        )
    if report.rows:
        lines.append(CampaignLine(None, None, None, "전체 Total", report.total, total=True))
    return lines


def campaigns_sheet(report: CampaignReport) -> Sheet:
    header = ("journey", "template", "channel", *_COUNTS, *_RATES)
    rows = [
        (
            "(total)" if x.total else x.journey,
            x.template,
            x.channel,
            *(getattr(x.counts, name) for name in (*_COUNTS, *_RATES)),
        )
        for x in campaign_lines(report)
    ]
    return Sheet(header, rows)


@dataclass(frozen=True, slots=True)
class SuppressionLine:
    """Suppressed messages for one reason: in all, per channel, and their share."""

    reason: str
    label: str
    total: int
    by_channel: dict[str, int]
    share: float
    bar: float


def suppression_lines(report: CampaignReport) -> list[SuppressionLine]:
    """The period's suppressed messages by the contact policy's reason, most first.

    The campaign report already groups them (messages decided in the period whose
    status is ``suppressed``, by ``reason``), per channel too: counted once, there.
    """
    reasons = report.suppressed_by_reason
    total = sum(reasons.values())
    top = max(reasons.values(), default=1)
    per_channel = {str(r.key["channel"]): r.counts.suppressed for r in report.channels}
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        SuppressionLine(
            reason=reason,
            label=_reason_label(reason),
            total=n,
            by_channel={c: per_channel.get(c, {}).get(reason, 0) for c in CHANNELS},
            share=n / total,
            bar=n / top,
        )
        for reason, n in ranked
    ]


def suppressions_sheet(report: CampaignReport) -> Sheet:
    header = ("reason", "사유", "suppressed", *CHANNELS, "share")
    rows = [
        (x.reason, x.label, x.total, *(x.by_channel[c] for c in CHANNELS), x.share)
        for x in suppression_lines(report)
    ]
    return Sheet(header, rows)


def _reason_label(reason: str) -> str:
    if reason in REASON_NAMES:
        return REASON_NAMES[reason]
    if reason.startswith("cap_"):  # cap_email_week, cap_sms_day …
        _, channel, span = [*reason.split("_", 2), "", ""][:3]
        when = {"week": "주간", "day": "일간"}.get(span, span)
        return f"{CHANNEL_NAMES.get(channel, channel)} {when} 한도"
    return reason


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# --- the web log (the seed's table 2) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeblogLine:
    key: str
    label: str
    value: float | int


def weblog_lines(report: WeblogReport) -> list[WeblogLine]:
    """The seed's table 2 for the report's group: traffic, logins and their ratios."""
    figures: Iterable[tuple[str, str, float | int]] = (
        ("page_views", "페이지뷰 page views", report.page_views),
        ("visits", "방문 visits", report.visits),
        ("visitors", "방문자 visitors", report.visitors),
        ("first_time_visitors", "첫 방문자 first-time visitors", report.first_time_visitors),
        ("logins", "로그인 logins", report.logins),
        ("logged_in_visitors", "로그인 방문자 logged-in visitors", report.logged_in_visitors),
        ("logins_per_visitor", "방문자당 로그인 logins per visitor", report.logins_per_visitor),
        (
            "page_views_per_visitor",
            "방문자당 페이지뷰 page views per visitor",
            report.page_views_per_visitor,
        ),
        ("visits_per_week", "주당 방문 visits per week", report.visits_per_week),
        (
            "visits_per_week_per_visitor",
            "방문자당 주당 방문 visits per week per visitor",
            report.visits_per_week_per_visitor,
        ),
    )
    return [WeblogLine(k, label, value) for k, label, value in figures]


def weblog_sheet(report: WeblogReport, group: str) -> Sheet:
    rows: list[tuple[Any, ...]] = [(x.key, x.label, x.value, group) for x in weblog_lines(report)]
    if report.group_customers is not None:
        rows.append(("group_customers", "고객군 고객 수", report.group_customers, group))
    for key, shares in (
        ("content", report.content_preference),
        ("category", report.category_preference),
        ("product", report.product_preference),
    ):
        rows += [(f"{key}:{s.key}", s.name or s.key, s.views, group) for s in shares]
    return Sheet(("metric", "지표", "value", "group"), rows)
