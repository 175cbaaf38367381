"""Horizontal bar charts drawn as inline SVG (no script, font or image to fetch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from automation.reports.html_parts import Raw, esc

BAR_WIDTH = 360  # px of the longest bar
LABEL_WIDTH = 190  # px left of the bars for their labels
ROW_HEIGHT = 24
TEXT_WIDTH = 200  # px right of the longest bar for its text, at least
CHAR_WIDTH = 7  # px of a character at 12px, roughly: a long text widens the chart


def bar_chart(title: str, items: Sequence[tuple[Any, Any, str]]) -> Raw:
    """A horizontal bar chart: (label, value, text shown after the bar) per bar."""
    if not items:
        return Raw('<p class="empty">자료가 없습니다.</p>')
    values = [float(v) if isinstance(v, int | float) and v > 0 else 0.0 for _, v, _ in items]
    top = max(values) or 1.0
    # Wide enough for the longest "bar + text", so a long text is not cut off.
    right = max(
        BAR_WIDTH * value / top + 6 + CHAR_WIDTH * len(str(text))
        for (_, _, text), value in zip(items, values, strict=True)
    )
    width = LABEL_WIDTH + max(BAR_WIDTH + TEXT_WIDTH, round(right) + 10)
    height = ROW_HEIGHT * len(items) + 8
    rows = []
    for i, ((label, _, text), value) in enumerate(zip(items, values, strict=True)):
        y = 4 + i * ROW_HEIGHT
        bar = round(BAR_WIDTH * value / top, 1)
        rows.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">'
            f"{esc(_short(label))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{bar}" height="16" rx="2" '
            f'fill="#2f6fd6"><title>{esc(label)}: {esc(text)}</title></rect>'
            f'<text x="{LABEL_WIDTH + bar + 6}" y="{y + 15}">{esc(text)}</text>'
        )
    return Raw(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">'
        f"<title>{esc(title)}</title>" + "".join(rows) + "</svg>"
    )


def _short(label: Any, limit: int = 24) -> Any:
    """A label that fits left of the bars (the full one is in the bar's tooltip)."""
    text = "–" if label is None else str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"
