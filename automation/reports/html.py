"""Reports as one self-contained HTML page: inline CSS, bar charts drawn as inline SVG.

No scripts, fonts or images are fetched, so the page opens from a file, a mail
attachment or an intranet without network access. Every value from the data is
escaped; only markup built here is trusted (``html_parts.Raw``).

The parts: ``html_parts`` (escaping, formats, tables), ``html_charts`` (SVG bar charts),
``html_sections``, ``html_journeys`` and ``html_analysis`` (each report's body); this
module frames the page around a body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from automation.reports.html_analysis import (
    interest_body,
    products_body,
    segments_body,
    service_body,
)
from automation.reports.html_journeys import journeys_body
from automation.reports.html_parts import esc
from automation.reports.html_sections import campaigns_body, funnel_body, weblog_body

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
svg { max-width: 100%; height: auto; }
svg text { font-family: inherit; font-size: 12px; fill: #374151; }
.muted { color: #6b7280; font-size: .85rem; }
.empty { color: #6b7280; font-style: italic; }
"""

# Report kind → the function giving its page's title and body.
_RENDERERS: dict[str, Callable[[Mapping[str, Any]], tuple[str, str]]] = {
    "funnel": funnel_body,
    "weblog": weblog_body,
    "campaigns": campaigns_body,
    "journeys": journeys_body,
    "segments": segments_body,
    "interest": interest_body,
    "products": products_body,
    "service": service_body,
}


def render_html(kind: str, data: Mapping[str, Any]) -> str:
    """The page of a report's ``to_dict()``: ``kind`` is one of ``_RENDERERS``.

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
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n{_period(data.get('period'))}\n{body}\n</body>\n</html>\n"
    )


def _period(period: Any) -> str:
    """The line under the title: the period's dates, days and time zone."""
    if not isinstance(period, Mapping):
        return ""
    return (
        f'<p class="period">{esc(period.get("from"))} ~ {esc(period.get("to"))} '
        f"({esc(period.get('days'))}일, {esc(period.get('timezone'))})</p>"
    )
