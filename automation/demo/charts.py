"""Small inline SVG charts for the demo's report: no script, no font, no network.

Every label is escaped; numbers are formatted here. Colours come from one palette so
the same series has the same colour everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#1b4b9b", "#e07b39", "#3a9d5d", "#b8405e", "#7a5cc2", "#8c8c8c")
LABEL = 200  # px for labels left of horizontal bars
ROW = 22
CHAR = 7  # px of a character at 12px, roughly: how far a bar's text reaches


def hbars(
    items: Sequence[tuple[str, float]],
    *,
    width: int = 620,
    colour: str = PALETTE[0],
    fmt: str = "{:,.0f}",
    notes: Sequence[str] | None = None,
) -> str:
    """Horizontal bars, one per (label, value), longest = full width; ``notes``, one
    per bar, are written after its value (the chart widens to show them whole)."""
    if not items:
        return '<p class="empty">nothing to show</p>'
    top = max(v for _, v in items) or 1
    span = width - LABEL - 70
    rows, right = [], width
    for i, (label, value) in enumerate(items):
        y = i * ROW
        w = max(1.0, span * value / top)
        text = fmt.format(value) + (f"  {notes[i]}" if notes and notes[i] else "")
        right = max(right, round(LABEL + w + 6 + CHAR * len(text)) + 10)
        rows.append(
            f'<text x="{LABEL - 8}" y="{y + 15}" text-anchor="end">{escape(str(label))}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{w:.1f}" height="{ROW - 6}" fill="{colour}"/>'
            f'<text x="{LABEL + w + 6:.1f}" y="{y + 15}">{escape(text)}</text>'
        )
    return _svg(right, ROW * len(items) + 4, "".join(rows))


def grouped_bars(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = 620,
    height: int = 220,
    fmt: str = "{:,.0f}",
    ranges: Sequence[Sequence[tuple[float, float] | None]] | None = None,
) -> str:
    """Vertical bars: one cluster per group, one bar per series, with a legend.

    ``ranges``, per series and group, draws an interval (low, high) over the bar as a
    whisker, so two bars whose intervals overlap are not read as different.
    """
    if not groups or not series:
        return '<p class="empty">nothing to show</p>'
    highs = [hi for per in ranges or [] for r in per if r is not None for hi in r[1:]]
    top = max([v for _, values in series for v in values] + highs, default=0) or 1
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
            whisker = ranges[s][g] if ranges else None
            label_y = base - h - 3
            if whisker is not None:
                lo, hi = (base - plot_h * w / top for w in whisker)
                mid = x + (bar - 3) / 2
                parts.append(
                    f'<path d="M{mid:.1f},{lo:.1f}V{hi:.1f}M{mid - 5:.1f},{lo:.1f}H{mid + 5:.1f}'
                    f'M{mid - 5:.1f},{hi:.1f}H{mid + 5:.1f}" stroke="#111827" fill="none"/>'
                )
                label_y = min(label_y, hi - 3)
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar - 3:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(fmt.format(v))}</title></rect>'
                f'<text x="{x + (bar - 3) / 2:.1f}" y="{label_y:.1f}" text-anchor="middle" '
                f'class="small">{escape(fmt.format(v))}</text>'
            )
        parts.append(
            f'<text x="{30 + g * slot + slot / 2:.1f}" y="{base + 16}" text-anchor="middle">'
            f"{escape(group)}</text>"
        )
    parts.append(f'<line x1="24" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#999"/>')
    parts.append(_legend([name for name, _ in series], height - 8))
    return _svg(width, height, "".join(parts))


def nice_ceil(value: float) -> float:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (an axis's top, a step)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value - 1e-9)


def spike_cap(series: Sequence[tuple[str, Sequence[float]]]) -> float | None:
    """Where to cap a chart whose few spikes would flatten every other day, or None.

    Twice the 90th percentile of all the values, rounded up to a nice number; only
    when the largest value is more than twice that (else the chart reads as it is).
    """
    values = sorted(v for _, vs in series for v in vs)
    if not values:
        return None
    cap = nice_ceil(2 * values[int(0.9 * (len(values) - 1))])
    return cap if values[-1] > 2 * cap else None


def lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = 900,
    height: int = 260,
    cap: float | None = None,
    unit: str = "",
) -> str:
    """A line per series over ``labels`` (ISO days), with a y axis of round ticks and a
    tick every 7th day.

    ``cap``: the y axis ends there; a point above it is drawn on the top edge with a
    marker and its value written above it, so one spike does not flatten the rest.
    """
    if not labels or not series:
        return '<p class="empty">nothing to show</p>'
    peak = max((v for _, values in series for v in values), default=0)
    top = cap if cap is not None and peak > cap else nice_ceil(peak) if peak else 1.0
    step_y = nice_ceil(top / 5)
    left, right, base = 56, width - 14, height - 50
    plot_h = height - 100  # room above the plot: the unit, then capped points' values
    step = (right - left) / max(1, len(labels) - 1)

    def y(v: float) -> float:
        return base - plot_h * min(v, top) / top

    parts = []
    tick = 0.0
    while tick <= top + 1e-9:
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{right}" y2="{y(tick):.1f}" '
            f'stroke="{"#999" if tick == 0 else "#e5e7eb"}"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="small">'
            f"{tick:,.0f}</text>"
        )
        tick += step_y
    if unit:
        parts.append(f'<text x="4" y="12" class="small">{escape(unit)}</text>')
    for i, label in enumerate(labels):
        if i % 7 == 0:
            x = left + i * step
            parts.append(
                f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#999"/>'
                f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" class="small">'
                f"{escape(label[5:])}</text>"
            )
    capped = []
    for s, (_, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{left + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        capped += [(i, v, colour) for i, v in enumerate(values) if v > top]
    # A capped point: a marker on the top edge and its value above it, raised a row
    # when it would touch the value of a nearby day.
    last_x, row = -1e9, 0
    for i, v, colour in sorted(capped):
        x = left + i * step
        row = row + 1 if x - last_x < 34 and row < 2 else 0
        last_x = x
        parts.append(
            f'<path d="M{x - 5:.1f},{y(v) + 1:.1f}L{x:.1f},{y(v) - 6:.1f}'
            f'L{x + 5:.1f},{y(v) + 1:.1f}Z" fill="{colour}"/>'
            f'<text x="{x:.1f}" y="{y(v) - 10 - 11 * row:.1f}" text-anchor="middle" '
            f'class="small" style="fill:{colour}">{v:,.0f}</text>'
        )
    parts.append(_legend([name for name, _ in series], height - 8))
    return _svg(width, height, "".join(parts))


def capped_lines(
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    unit: str,
    by_journey: dict[str, dict[str, list[int]]] | None = None,
    names: dict[str, str] | None = None,
) -> str:
    """``lines`` capped by ``spike_cap`` when a few days would flatten the rest, and a note
    naming each capped day's count (and the journeys that sent most of it, ``by_journey``:
    series → journey → per day)."""
    cap = spike_cap(series)
    chart = lines(days, series, cap=cap, unit=unit)
    if cap is None:
        return chart
    capped = [
        f"{days[i][5:]} {(names or {}).get(name, name)} {v:,}{_whose(by_journey, name, i)}"
        for name, values in series
        for i, v in enumerate(values)
        if v > cap
    ]
    return chart + (
        f'<p class="muted">The axis stops at {cap:,.0f} a day so that the other days can be '
        "read; the days above it are drawn at the top with their counts: "
        f"{escape('; '.join(capped))}.</p>"
    )


def _whose(by_journey: dict[str, dict[str, list[int]]] | None, name: str, day: int) -> str:
    """ " (conversion-ladder 388)": the journeys that sent most of a day's count."""
    counts = [(j or "no journey", v[day]) for j, v in (by_journey or {}).get(name, {}).items()]
    top = sorted((jn for jn in counts if jn[1]), key=lambda jn: -jn[1])[:2]
    return f" ({', '.join(f'{j} {n:,}' for j, n in top)})" if top else ""


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
