"""Manager reports over a period: web log, conversion funnel, campaigns and journeys.

Each report computes its figures in SQL and returns a dataclass with ``to_dict()`` for
JSON; ``html.render_html`` turns that into a self-contained page. The modules:

- ``period``: ``Period``, the reporting window (dates inclusive, business time zone).
- ``query``: ``Query``, the type the reports' query builders return.
- ``weblog``: ``weblog_report``, web-log analytics as WebNibbler showed them (the
  definitions), built from ``weblog_events`` (which events are web events),
  ``weblog_visits`` (events cut into visits by window functions), ``weblog_queries``
  (the figures' SQL) and ``weblog_figures`` (the report's dataclasses).
- ``funnel``: ``funnel_report``, the conversion funnel visitor → member → first policy
  → repeat.
- ``campaigns``: ``campaign_report``, what the journeys sent and what came of it (the
  definitions), built from ``campaigns_queries`` (its one SQL statement) and
  ``campaigns_figures`` (the report's dataclasses).
- ``journeys``: ``journeys_report``, who entered each journey, how far they got, and
  the holdout uplift (the definitions), with ``journeys_figures`` (the report's
  dataclasses), ``intervals`` (Wilson and Newcombe confidence intervals) and
  ``wording`` (its figures in words for the terminal: "no goal", "too small to tell").
- ``html``: ``render_html``, the page frame, with ``html_sections`` (each report's
  body; the journeys' in ``html_journeys``), ``html_charts`` (SVG bar charts) and
  ``html_parts`` (escaping, formats, tables).
"""

from automation.reports.campaigns import campaign_report
from automation.reports.funnel import funnel_report
from automation.reports.html import render_html
from automation.reports.journeys import journeys_report
from automation.reports.period import Period
from automation.reports.weblog import weblog_report

__all__ = [
    "Period",
    "campaign_report",
    "funnel_report",
    "journeys_report",
    "render_html",
    "weblog_report",
]
