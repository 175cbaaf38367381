"""Small inline SVG charts for the demo's report: no script, no font, no network.

Every label is escaped; numbers are formatted here. Colours come from one palette so
the same series has the same colour everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1b4b9b", "#e07b39", "#3a9d5d", "#b8405e", "#7a5cc2", "#8c8c8c")
LABEL = 200  # px for labels left of horizontal bars
ROW = 22


def hbars(
    items: Sequence[tuple[str, float]],
    *,
    width: int = 620,
    colour: str = PALETTE[0],
    fmt: str = "{:,.0f}",
) -> str:
    """Horizontal bars, one per (label, value), longest = full width."""
    if not items:
        return '<p class="empty">nothing to show</p>'
    top = max(v for _, v in items) or 1
    span = width - LABEL - 70
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * ROW
        w = max(1.0, span * value / top)
        rows.append(
            f'<text x="{LABEL - 8}" y="{y + 15}" text-anchor="end">{escape(str(label))}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{w:.1f}" height="{ROW - 6}" fill="{colour}"/>'
            f'<text x="{LABEL + w + 6:.1f}" y="{y + 15}">{escape(fmt.format(value))}</text>'
        )
    return _svg(width, ROW * len(items) + 4, "".join(rows))


def grouped_bars(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = 620,
    height: int = 220,
    fmt: str = "{:,.0f}",
) -> str:
    """Vertical bars: one cluster per group, one bar per series, with a legend."""
    if not groups or not series:
        return '<p class="empty">nothing to show</p>'
    top = max((v for _, values in series for v in values), default=0) or 1
    plot_h, base = height - 60, height - 40
    slot = (width - 40) / len(groups)
    bar = min(34.0, (slot - 16) / len(series))
    parts = []
    for g, group in enumerate(groups):
        x0 = 30 + g * slot + (slot - bar * len(series)) / 2
        for s, (_, values) in enumerate(series):
            v = values[g]
            h = plot_h * v / top
            x = x0 + s * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar - 3:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(fmt.format(v))}</title></rect>'
                f'<text x="{x + (bar - 3) / 2:.1f}" y="{base - h - 3:.1f}" text-anchor="middle" '
                f'class="small">{escape(fmt.format(v))}</text>'
            )
        parts.append(
            f'<text x="{30 + g * slot + slot / 2:.1f}" y="{base + 16}" text-anchor="middle">'
            f"{escape(group)}</text>"
        )
    parts.append(f'<line x1="24" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#999"/>')
    parts.append(_legend([name for name, _ in series], height - 8))
    return _svg(width, height, "".join(parts))


def lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = 900,
    height: int = 240,
) -> str:
    """A line per series over ``labels`` (days), the first and every 7th label shown."""
    if not labels or not series:
        return '<p class="empty">nothing to show</p>'
    top = max((v for _, values in series for v in values), default=0) or 1
    left, right, base, plot_h = 50, width - 10, height - 50, height - 70
    step = (right - left) / max(1, len(labels) - 1)
    parts = [
        f'<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{base - plot_h + 4}" text-anchor="end" class="small">'
        f"{top:,.0f}</text>",
        f'<text x="{left - 6}" y="{base + 4}" text-anchor="end" class="small">0</text>',
    ]
    for i, label in enumerate(labels):
        if i % 7 == 0:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{base + 16}" text-anchor="middle" '
                f'class="small">{escape(label[5:])}</text>'
            )
    for s, (_, values) in enumerate(series):
        points = " ".join(
            f"{left + i * step:.1f},{base - plot_h * v / top:.1f}" for i, v in enumerate(values)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{PALETTE[s % len(PALETTE)]}" '
            'stroke-width="2"/>'
        )
    parts.append(_legend([name for name, _ in series], height - 8))
    return _svg(width, height, "".join(parts))


def _legend(names: Sequence[str], y: int) -> str:
    out, x = [], 30
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{y}">{escape(name)}</text>'
        )
        x += 24 + 8 * len(name)
    return "".join(out)


def _svg(width: int, height: int, body: str) -> str:
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f"{body}</svg>"
    )
