"""Each report's page body, from its ``to_dict()``: tables, charts and notes.

Each ``*_body`` function returns the page's title and its body's markup; the journeys
page's is in ``html_journeys``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automation.reports.html_charts import bar_chart
from automation.reports.html_parts import (
    Raw,
    as_json,
    count_share,
    esc,
    html_table,
    pct,
)

RUNG_NAMES = {"visitor": "방문자", "member": "회원", "first_policy": "첫 계약", "repeat": "재구매"}
CHANNEL_NAMES = {"email": "이메일", "sms": "문자(SMS)", "call": "전화"}
DIMENSION_NAMES = {
    "journey": "여정",
    "version": "버전",
    "state": "단계",
    "template": "템플릿",
    "channel": "채널",
}


def funnel_body(data: Mapping[str, Any]) -> tuple[str, str]:
    """The funnel page's title and body."""
    rungs = data.get("rungs") or []
    chart = bar_chart(
        "단계별 도달 고객",
        [(_rung(r), r.get("reached"), count_share(r.get("reached"), r.get("rate"))) for r in rungs],
    )
    table = html_table(
        ["단계", "도달 (reached)", "전 단계 대비 (rate)", "기간 중 진입 (moved in)"],
        [[_rung(r), r.get("reached"), pct(r.get("rate")), r.get("moved_in")] for r in rungs],
    )
    return "전환 퍼널 (Conversion funnel)", chart + table


def weblog_body(data: Mapping[str, Any]) -> tuple[str, str]:
    """The web-log page's title and body."""
    parts: list[str] = []
    if data.get("group") is not None:
        group = data["group"] if isinstance(data["group"], str) else as_json(data["group"])
        parts.append(
            f'<p class="muted">고객군: {esc(group)} ({esc(data.get("group_customers"))}명)</p>'
        )
    figures = [
        ("페이지뷰 (page views)", data.get("page_views")),
        ("방문 (visits)", data.get("visits")),
        ("방문자 (visitors)", data.get("visitors")),
        ("첫 방문자 (first-time)", data.get("first_time_visitors")),
        ("로그인 (logins)", data.get("logins")),
        ("로그인 방문자", data.get("logged_in_visitors")),
        ("방문자당 로그인", data.get("logins_per_visitor")),
        ("방문자당 페이지뷰", data.get("page_views_per_visitor")),
        ("주당 방문", data.get("visits_per_week")),
        ("방문자당 주당 방문", data.get("visits_per_week_per_visitor")),
    ]
    parts.append(html_table(["지표", "값"], [[k, v] for k, v in figures]))
    for key, heading in (
        ("content_preference", "콘텐츠 선호도"),
        ("category_preference", "카테고리 선호도"),
        ("product_preference", "상품 선호도"),
    ):
        shares = data.get(key) or []
        parts.append(f"<h2>{esc(heading)}</h2>")
        parts.append(
            bar_chart(
                heading,
                [
                    (
                        s.get("name") or s.get("key"),
                        s.get("share"),
                        f"{pct(s.get('share'))} ({esc(s.get('views'))})",
                    )
                    for s in shares
                ],
            )
        )
    paths = data.get("main_paths") or []
    parts.append("<h2>주요 경로 (main paths)</h2>")
    parts.append(
        html_table(
            ["경로", "방문", "비율"],
            [
                [" → ".join(map(str, p.get("pages") or [])), p.get("visits"), pct(p.get("share"))]
                for p in paths
            ],
        )
    )
    arrivals = data.get("arrivals") or []
    parts.append("<h2>유입 (arrivals)</h2>")
    parts.append(
        html_table(
            ["utm_source", "배너", "방문", "방문자", "가입", "구매"],
            [
                [
                    a.get("utm_source"),
                    a.get("banner"),
                    a.get("visits"),
                    a.get("visitors"),
                    a.get("signed_up"),
                    a.get("bought"),
                ]
                for a in arrivals
            ],
        )
    )
    return "웹 로그 분석 (Web log)", "\n".join(parts)


_CAMPAIGN_COLUMNS = (
    ("decided", "결정"),
    ("sent", "발송"),
    ("delivered", "전달"),
    ("opened", "오픈"),
    ("clicked", "클릭"),
    ("converted", "전환"),
    ("unsubscribed", "수신거부"),
    ("bounced", "반송"),
    ("suppressed_total", "발송 제한"),
    ("deferred", "보류"),
    ("failed", "실패"),
    ("scanner_clicked", "스캐너 클릭"),
)
_CAMPAIGN_RATES = (("open_rate", "오픈율"), ("click_rate", "클릭율"), ("conversion_rate", "전환율"))


def campaigns_body(data: Mapping[str, Any]) -> tuple[str, str]:
    """The campaign page's title and body."""
    by = [str(d) for d in data.get("by") or []]
    headers = [
        *(DIMENSION_NAMES.get(d, d) for d in by),
        *(label for _, label in _CAMPAIGN_COLUMNS),
        *(label for _, label in _CAMPAIGN_RATES),
    ]

    def line(row: Mapping[str, Any], key: list[Any]) -> list[Any]:
        return [
            *key,
            *(row.get(name) for name, _ in _CAMPAIGN_COLUMNS),
            *(pct(row.get(name)) for name, _ in _CAMPAIGN_RATES),
        ]

    rows = data.get("rows") or []
    channels = data.get("channels") or []
    total = data.get("total") or {}
    reasons = data.get("suppressed_by_reason") or {}
    channel_headers = ["채널", *headers[len(by) :]]
    parts: list[str] = [
        "<h2>채널별 합계</h2>",
        html_table(
            channel_headers,
            [line(c, [_channel(c.get("channel"))]) for c in channels]
            + ([line(total, [Raw("<strong>전체</strong>")])] if total else []),
        ),
        "<h2>발송 제한 사유 (suppressed by reason)</h2>",
        bar_chart("발송 제한 사유", [(r, n, esc(n)) for r, n in reasons.items()]),
        "<h2>상세</h2>",
        html_table(
            headers,
            [
                line(r, [_channel(r.get(d)) if d == "channel" else r.get(d) for d in by])
                for r in rows
            ],
        ),
        "<h2>오픈율 · 클릭율</h2>",
        bar_chart(
            "클릭율",
            [
                (
                    " / ".join(str(r.get(d) if r.get(d) is not None else "–") for d in by)
                    or "전체",
                    r.get("click_rate"),
                    f"클릭 {pct(r.get('click_rate'))} · 오픈 {pct(r.get('open_rate'))}",
                )
                for r in rows
            ],
        ),
    ]
    outcomes = total.get("call_outcomes") or {}
    if outcomes:
        parts += [
            "<h2>전화 결과</h2>",
            html_table(["결과", "건수"], list(map(list, outcomes.items()))),
        ]
    parts.append(
        '<p class="muted">오픈·클릭은 사람의 응답만 셉니다 (메일 보안 스캐너의 사전 조회 제외). '
        "전환은 마지막 접촉(last touch) 기준, 전환율 = 전환 / 발송.</p>"
    )
    return "캠페인 성과 (Campaigns)", "\n".join(parts)


def _rung(rung: Mapping[str, Any]) -> str:
    name = str(rung.get("rung"))
    return f"{RUNG_NAMES.get(name, name)} ({name})"


def _channel(value: Any) -> Any:
    return CHANNEL_NAMES.get(value, value) if isinstance(value, str) else value
