"""The demo's HTML report: one self-contained file, no network needed to open it."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any


def write_report(results: dict[str, Any], path: Path) -> Path:
    """Write the funnel and event counts as an HTML page with inline SVG bars."""
    funnel = results["funnel"]
    top = max(funnel.values()) or 1
    bars = "".join(
        f'<g transform="translate(0,{i * 34})"><text x="0" y="20">{html.escape(stage)}</text>'
        f'<rect x="190" y="6" width="{max(2, 500 * n / top):.0f}" height="22" fill="#2b6cb0"/>'
        f'<text x="{200 + 500 * n / top:.0f}" y="22">{n:,}</text></g>'
        for i, (stage, n) in enumerate(funnel.items())
    )
    rows = "".join(
        f"<tr><td>{html.escape(t)}</td><td>{n:,}</td></tr>"
        for t, n in sorted(results["events"].items())
    )
    journey_rows = "".join(
        f"<tr><td>{html.escape(j)}</td>"
        + "".join(
            f"<td>{row.get(c, 0):,}</td>"
            for c in ("entered", "active", "converted", "exited", "completed", "holdout")
        )
        + "</tr>"
        for j, row in sorted(results.get("journeys", {}).items())
    )
    t2 = results["table2"]
    page = f"""<!doctype html><html lang="ko"><meta charset="utf-8">
<title>eCRM demo report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}td{{padding:2px 12px}}</style>
<h1>eCRM demo: {results["days"]} days</h1>
<h2>Conversion funnel</h2>
<svg width="820" height="{34 * len(funnel)}" role="img" aria-label="funnel">{bars}</svg>
<h2>Events through ingest ({results["events_total"]:,})</h2>
<table>{rows}</table>
<h2>Journeys</h2>
<table><tr><th>journey</th><th>entered</th><th>active</th><th>converted</th><th>exited</th><th>completed</th><th>holdout</th></tr>{journey_rows}</table>
<h2>Table-2 group</h2>
<p>{t2["customers"]} members aged 28–40 with children:
{t2["avg_page_views_per_30_days"]:.1f} page views per 30 days,
{t2["visits_per_week"]:.2f} visits a week.</p>
</html>"""
    path.write_text(page, encoding="utf-8")
    return path
