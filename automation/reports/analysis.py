"""The cross-analysis reports by name (seed 000 §3.2), for the CLI and the HTTP routes:
``segments`` (``segment_usage``), ``interest`` and ``products``, and the lines that say
what their tables mean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automation.reports.interest import DEFAULT_DAYS, LEVELS, PAGE_CUTS, VISIT_CUTS
from automation.reports.period import Period

ANALYSES = ("segments", "interest", "products")


def analysis_report(
    kind: str, period: Period, *, segment: str | None = None, days: int | None = None
) -> dict[str, Any]:
    """The ``kind`` report's ``to_dict()``.

    Raises:
        UnknownSegment: ``segment`` names no published segment.
        ValueError: an unknown ``kind``, or ``days`` out of range (interest).
    """
    if kind == "segments":
        from automation.reports.segment_usage import segment_usage_report

        return segment_usage_report(period, segment).to_dict()
    if kind == "interest":
        from automation.reports.interest import interest_report

        return interest_report(period, DEFAULT_DAYS if days is None else days, segment).to_dict()
    if kind == "products":
        from automation.reports.products import products_report

        return products_report(period, segment).to_dict()
    raise ValueError(f"no analysis '{kind}': one of {', '.join(ANALYSES)}")


def table_notes(kind: str, data: Mapping[str, Any]) -> list[str]:
    """What the terminal table's figures mean, in a line or two."""
    missing = data.get("unrecorded") or []
    lines = (
        [f"No membership recorded then (published or first filled later): {', '.join(missing)}."]
        if missing
        else []
    )
    return _meaning(kind, data) + lines


def _meaning(kind: str, data: Mapping[str, Any]) -> list[str]:
    if kind == "segments":
        return [
            f"Members as of {data['members_as_of']}; page views and visits per visitor "
            "(members who visited); top keys with their page views."
        ]
    if kind == "interest":
        cuts = ", ".join(
            f"{level} {p}+ page views or {v}+ visits"
            for level, p, v in zip(LEVELS[1:], PAGE_CUTS, VISIT_CUTS, strict=True)
        )
        lines = [
            f"Customers as they stood at {data['reference']}: interest from the 30 days "
            f"before ({cuts}; none: no web event); converted: a new policy within "
            f"{data['days']} days, observed until {data['observed_until']}."
        ]
        if not data["complete"]:
            lines.append("The window has not ended yet: rates can still rise.")
        return lines
    if kind == "service":
        return [
            "Service tasks (complaints, inquiries) opened and closed in the period, open "
            "now; hours from opening to the answer: median and 90th percentile."
        ]
    never = ", ".join(data.get("never_bought") or []) or "none"
    return [
        f"Interested: {data['interested_views']}+ views or a quote / consultation request; "
        f"view → purchase: viewers who bought after viewing / viewers. "
        f"Viewed but never bought: {never}."
    ]
