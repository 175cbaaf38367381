"""The cross-analysis reports' page bodies: segments by age × gender, interest →
purchase, and products. Each is a line of what the figures mean and a table of the
report's rows (``flat``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automation.reports.flat import flat_rows
from automation.reports.html_parts import esc, html_table, pct

_RATES = ("rate", "view_to_purchase")


def _table(kind: str, data: Mapping[str, Any]) -> str:
    rows = flat_rows(kind, data)
    headers = list(rows[0]) if rows else []
    cells = [[pct(v) if k in _RATES else v for k, v in row.items()] for row in rows]
    table = html_table([h.replace("_", " ") for h in headers], cells)
    missing = data.get("unrecorded") or []
    if not missing:
        return table
    note = f"No membership recorded then (published or first filled later): {', '.join(missing)}."
    return f'{table}\n<p class="muted">{esc(note)}</p>'


def segments_body(data: Mapping[str, Any]) -> tuple[str, str]:
    note = (
        f"세그먼트 회원 ({esc(data.get('members_as_of'))} 기준)의 웹 이용: 연령대 × 성별. "
        "page views / visitor, visits / week / visitor are over the members who visited."
    )
    return "세그먼트별 웹 이용 (segments by age × gender)", (
        f'<p class="muted">{note}</p>\n{_table("segments", data)}'
    )


def interest_body(data: Mapping[str, Any]) -> tuple[str, str]:
    done = "" if data.get("complete") else " (window still open: rates can rise)"
    note = (
        f"Customers as of {esc(data.get('reference'))}: interest = page views and visits "
        f"from {esc(data.get('interest_from'))}; converted = a new policy within "
        f"{esc(data.get('days'))} days, observed until {esc(data.get('observed_until'))}"
        f"{esc(done)}. Levels: {esc(data.get('levels'))}."
    )
    return "온라인 관심도와 구매 (interest → purchase)", (
        f'<p class="muted">{note}</p>\n{_table("interest", data)}'
    )


def products_body(data: Mapping[str, Any]) -> tuple[str, str]:
    never = data.get("never_bought") or []
    note = (
        f"Interested: viewed at least {esc(data.get('interested_views'))} times or asked for "
        f"a quote or consultation. Viewed but never bought: {esc(', '.join(never) or '–')}."
    )
    return "상품별 반응 (products)", f'<p class="muted">{note}</p>\n{_table("products", data)}'


def service_body(data: Mapping[str, Any]) -> tuple[str, str]:
    note = (
        "Complaints and inquiries (the service queue) per category: opened and closed in "
        "the period, open now, hours from opening to the answer (median, 90th percentile)."
    )
    return "고객 서비스 (service desk)", f'<p class="muted">{note}</p>\n{_table("service", data)}'
