"""Reports as one self-contained HTML page: inline CSS, bar charts drawn as inline SVG.

No scripts, fonts or images are fetched, so the page opens from a file, a mail
attachment or an intranet without network access. Every value from the data is
escaped; only markup built here is trusted (``_Raw``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any

BAR_WIDTH = 360  # px of the longest bar
LABEL_WIDTH = 190  # px left of the bars for their labels
ROW_HEIGHT = 24

CSS = """
body { font-family: "Apple SD Gothic Neo", "Malgun Gothic", "Noto Sans KR", sans-serif;
  margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1f2937; line-height: 1.5;
  word-break: keep-all; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 2px solid #e5e7eb; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
.period { color: #6b7280; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #e5e7eb; padding: .3rem .6rem; }
th { background: #f3f4f6; text-align: left; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font-family: inherit; font-size: 12px; fill: #374151; }
.muted { color: #6b7280; font-size: .85rem; }
.empty { color: #6b7280; font-style: italic; }
"""

RUNG_NAMES = {"visitor": "방문자", "member": "회원", "first_policy": "첫 계약", "repeat": "재구매"}
CHANNEL_NAMES = {"email": "이메일", "sms": "문자(SMS)", "call": "전화"}
DIMENSION_NAMES = {
    "journey": "여정",
    "version": "버전",
    "state": "단계",
    "template": "템플릿",
    "channel": "채널",
}


class _Raw(str):
    """Markup built here: inserted as is, never escaped again."""

    __slots__ = ()


def render_html(kind: str, data: Mapping[str, Any]) -> str:
    """The page of a report's ``to_dict()``: ``kind`` is funnel, weblog, campaigns or journeys.

    Raises:
        ValueError: an unknown ``kind``.
    """
    renderer = _RENDERERS.get(kind)
    if renderer is None:
        raise ValueError(f"no HTML page for report '{kind}': use {', '.join(_RENDERERS)}")
    title, body = renderer(data)
    return (
        '<!DOCTYPE html>\n<html lang="ko">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n{_period(data.get('period'))}\n{body}\n</body>\n</html>\n"
    )


# --- the reports ---------------------------------------------------------------------


def _funnel(data: Mapping[str, Any]) -> tuple[str, str]:
    rungs = data.get("rungs") or []
    chart = _bars(
        "단계별 도달 고객",
        [
            (_rung(r), r.get("reached"), _count_share(r.get("reached"), r.get("rate")))
            for r in rungs
        ],
    )
    table = _table(
        ["단계", "도달 (reached)", "전 단계 대비 (rate)", "기간 중 진입 (moved in)"],
        [[_rung(r), r.get("reached"), _pct(r.get("rate")), r.get("moved_in")] for r in rungs],
    )
    return "전환 퍼널 (Conversion funnel)", chart + table


def _weblog(data: Mapping[str, Any]) -> tuple[str, str]:
    parts: list[str] = []
    if data.get("group") is not None:
        group = data["group"] if isinstance(data["group"], str) else _json(data["group"])
        parts.append(
            f'<p class="muted">고객군: {_e(group)} ({_e(data.get("group_customers"))}명)</p>'
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
    parts.append(_table(["지표", "값"], [[k, v] for k, v in figures]))
    for key, heading in (
        ("content_preference", "콘텐츠 선호도"),
        ("category_preference", "카테고리 선호도"),
        ("product_preference", "상품 선호도"),
    ):
        shares = data.get(key) or []
        parts.append(f"<h2>{_e(heading)}</h2>")
        parts.append(
            _bars(
                heading,
                [
                    (
                        s.get("name") or s.get("key"),
                        s.get("share"),
                        f"{_pct(s.get('share'))} ({_e(s.get('views'))})",
                    )
                    for s in shares
                ],
            )
        )
    paths = data.get("main_paths") or []
    parts.append("<h2>주요 경로 (main paths)</h2>")
    parts.append(
        _table(
            ["경로", "방문", "비율"],
            [
                [" → ".join(map(str, p.get("pages") or [])), p.get("visits"), _pct(p.get("share"))]
                for p in paths
            ],
        )
    )
    arrivals = data.get("arrivals") or []
    parts.append("<h2>유입 (arrivals)</h2>")
    parts.append(
        _table(
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


def _campaigns(data: Mapping[str, Any]) -> tuple[str, str]:
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
            *(_pct(row.get(name)) for name, _ in _CAMPAIGN_RATES),
        ]

    rows = data.get("rows") or []
    channels = data.get("channels") or []
    total = data.get("total") or {}
    reasons = data.get("suppressed_by_reason") or {}
    channel_headers = ["채널", *headers[len(by) :]]
    parts: list[str] = [
        "<h2>채널별 합계</h2>",
        _table(
            channel_headers,
            [line(c, [_channel(c.get("channel"))]) for c in channels]
            + ([line(total, [_Raw("<strong>전체</strong>")])] if total else []),
        ),
        "<h2>발송 제한 사유 (suppressed by reason)</h2>",
        _bars("발송 제한 사유", [(r, n, _e(n)) for r, n in reasons.items()]),
        "<h2>상세</h2>",
        _table(
            headers,
            [
                line(r, [_channel(r.get(d)) if d == "channel" else r.get(d) for d in by])
                for r in rows
            ],
        ),
        "<h2>오픈율 · 클릭율</h2>",
        _bars(
            "클릭율",
            [
                (
                    " / ".join(str(r.get(d) if r.get(d) is not None else "–") for d in by)
                    or "전체",
                    r.get("click_rate"),
                    f"클릭 {_pct(r.get('click_rate'))} · 오픈 {_pct(r.get('open_rate'))}",
                )
                for r in rows
            ],
        ),
    ]
    outcomes = total.get("call_outcomes") or {}
    if outcomes:
        parts += ["<h2>전화 결과</h2>", _table(["결과", "건수"], list(map(list, outcomes.items())))]
    parts.append(
        '<p class="muted">오픈·클릭은 사람의 응답만 셉니다 (메일 보안 스캐너의 사전 조회 제외). '
        "전환은 마지막 접촉(last touch) 기준, 전환율 = 전환 / 발송.</p>"
    )
    return "캠페인 성과 (Campaigns)", "\n".join(parts)


def _journeys(data: Mapping[str, Any]) -> tuple[str, str]:
    journeys = data.get("journeys") or []
    if not journeys:
        return "여정 성과 (Journeys)", '<p class="empty">게시된 여정이 없습니다.</p>'
    parts: list[str] = [
        _table(
            ["여정", "진입", "전환", "완료", "이탈", "진행 중", "목표 달성률", "효과(uplift)"],
            [
                [
                    j.get("name") or j.get("journey"),
                    j.get("entered"),
                    j.get("converted"),
                    j.get("completed"),
                    j.get("exited"),
                    j.get("active"),
                    _pct(j.get("goal_rate")),
                    _points((j.get("uplift") or {}).get("uplift")),
                ]
                for j in journeys
            ],
        )
    ]
    for j in journeys:
        name, journey_id = j.get("name"), j.get("journey")
        parts.append(
            f'<h2>{_e(name or journey_id)} <span class="muted">{_e(journey_id)}</span></h2>'
        )
        parts.append(
            _bars(
                f"{name or journey_id} 단계별 도달",
                [
                    (
                        s.get("state"),
                        s.get("reached"),
                        _count_share(s.get("reached"), s.get("share")),
                    )
                    for s in j.get("steps") or []
                ],
            )
        )
        parts.append(_uplift(j.get("uplift") or {}))
        versions = j.get("versions") or []
        if len(versions) > 1:
            parts.append("<h3>버전별</h3>")
            parts.append(
                _table(
                    ["버전", "진입", "전환", "목표 달성률", "효과(uplift)"],
                    [
                        [
                            f"v{v.get('version')}",
                            v.get("entered"),
                            v.get("converted"),
                            _pct(v.get("goal_rate")),
                            _points((v.get("uplift") or {}).get("uplift")),
                        ]
                        for v in versions
                    ],
                )
            )
    return "여정 성과 (Journeys)", "\n".join(parts)


def _uplift(uplift: Mapping[str, Any]) -> str:
    def arm(name: str, label: str) -> list[Any]:
        a = uplift.get(name) or {}
        return [label, a.get("entered"), a.get("converted"), _pct(a.get("rate"))]

    table = _table(
        ["대조 비교", "진입", "전환", "전환율"],
        [arm("treatment", "발송군 (treatment)"), arm("control", "대조군 (holdout)")],
    )
    value = uplift.get("uplift")
    note = (
        "대조군 또는 발송군이 없어 효과를 계산할 수 없습니다."
        if value is None
        else f"효과(uplift): {_points(value)}"
    )
    return f'{table}<p class="muted">{_e(note)}</p>'


_RENDERERS: dict[str, Callable[[Mapping[str, Any]], tuple[str, str]]] = {
    "funnel": _funnel,
    "weblog": _weblog,
    "campaigns": _campaigns,
    "journeys": _journeys,
}


# --- pieces --------------------------------------------------------------------------


def _e(value: Any) -> str:
    """A value as escaped text (``_Raw`` markup as is); None as a dash."""
    if isinstance(value, _Raw):
        return str(value)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "예" if value else "아니오"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return escape(str(value), quote=True)


def _pct(rate: Any) -> str:
    """A ratio as a percentage (one decimal); None as a dash."""
    return "–" if not isinstance(rate, int | float) else f"{rate * 100:.1f}%"


def _count_share(count: Any, share: Any) -> str:
    return f"{_e(count)} ({_pct(share)})"


def _points(diff: Any) -> str:
    """A difference of two rates in percentage points, signed."""
    return "–" if not isinstance(diff, int | float) else f"{diff * 100:+.1f}%p"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _rung(rung: Mapping[str, Any]) -> str:
    name = str(rung.get("rung"))
    return f"{RUNG_NAMES.get(name, name)} ({name})"


def _channel(value: Any) -> Any:
    return CHANNEL_NAMES.get(value, value) if isinstance(value, str) else value


def _period(period: Any) -> str:
    if not isinstance(period, Mapping):
        return ""
    return (
        f'<p class="period">{_e(period.get("from"))} ~ {_e(period.get("to"))} '
        f"({_e(period.get('days'))}일, {_e(period.get('timezone'))})</p>"
    )


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> _Raw:
    body = [
        "<tr>"
        + "".join(
            f'<td class="n">{_e(c)}</td>' if _numeric(c) else f"<td>{_e(c)}</td>" for c in row
        )
        + "</tr>"
        for row in rows
    ]
    if not body:
        return _Raw('<p class="empty">자료가 없습니다.</p>')
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return _Raw(f"<table>\n<tr>{head}</tr>\n" + "\n".join(body) + "\n</table>")


def _numeric(cell: Any) -> bool:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return True
    return isinstance(cell, str) and (cell.endswith(("%", "%p")) or cell == "–")


def _bars(title: str, items: Sequence[tuple[Any, Any, str]]) -> _Raw:
    """A horizontal bar chart: (label, value, text shown after the bar) per bar."""
    if not items:
        return _Raw('<p class="empty">자료가 없습니다.</p>')
    values = [float(v) if isinstance(v, int | float) and v > 0 else 0.0 for _, v, _ in items]
    top = max(values) or 1.0
    width = LABEL_WIDTH + BAR_WIDTH + 200
    height = ROW_HEIGHT * len(items) + 8
    rows = []
    for i, ((label, _, text), value) in enumerate(zip(items, values, strict=True)):
        y = 4 + i * ROW_HEIGHT
        bar = round(BAR_WIDTH * value / top, 1)
        rows.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{_e(_short(label))}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{bar}" height="16" rx="2" '
            f'fill="#2f6fd6"><title>{_e(label)}: {_e(text)}</title></rect>'
            f'<text x="{LABEL_WIDTH + bar + 6}" y="{y + 15}">{_e(text)}</text>'
        )
    return _Raw(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">'
        f"<title>{_e(title)}</title>" + "".join(rows) + "</svg>"
    )


def _short(label: Any, limit: int = 24) -> Any:
    """A label that fits left of the bars (the full one is in the bar's tooltip)."""
    text = "–" if label is None else str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"
