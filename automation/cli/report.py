"""``automation report``: manager reports for a period, as tables, JSON or HTML."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from automation.cli.output import fail, out


def report(
    kind: Annotated[str, typer.Argument(help="funnel, journeys, campaigns or weblog")],
    from_: Annotated[str | None, typer.Option("--from")] = None,
    to: Annotated[str | None, typer.Option("--to")] = None,
    format_: Annotated[str, typer.Option("--format")] = "table",
) -> None:
    """Manager reports for a period (dates inclusive, business time zone)."""
    import json

    from automation.reports.period import Period

    builders = {"funnel", "weblog", "campaigns", "journeys"}
    if kind not in builders:
        fail(f"report '{kind}': one of {', '.join(sorted(builders))}")
    if format_ not in ("table", "json", "html"):
        fail(f"--format {format_}: table, json or html")
    try:
        period = Period.of(from_, to)
    except ValueError as exc:
        fail(f"period: {exc}")
    data = _build_report(kind, period)
    if format_ == "json":
        out.print_json(json.dumps(data, ensure_ascii=False, default=str))
    elif format_ == "html":
        from automation.reports.html import render_html

        print(render_html(kind, data))
    else:
        _report_table(kind, data)


def _build_report(kind: str, period: Any) -> dict[str, Any]:
    if kind == "funnel":
        from automation.reports.funnel import funnel_report

        return funnel_report(period).to_dict()
    if kind == "weblog":
        from automation.reports.weblog import weblog_report

        return weblog_report(period).to_dict()
    if kind == "campaigns":
        from automation.reports.campaigns import campaign_report

        return campaign_report(period).to_dict()
    from automation.reports.journeys import journeys_report

    return journeys_report(period).to_dict()


def _report_table(kind: str, data: dict[str, Any]) -> None:
    period = data["period"]
    title = f"{kind} {period['from']} – {period['to']} ({period['timezone']})"
    if kind == "funnel":
        table = Table("rung", "reached", "rate", "moved in", title=title)
        for rung in data["rungs"]:
            rate = "" if rung["rate"] is None else f"{rung['rate']:.1%}"
            moved = "" if rung["moved_in"] is None else str(rung["moved_in"])
            table.add_row(rung["rung"], f"{rung['reached']:,}", rate, moved)
        out.print(table)
        return
    if kind == "campaigns":
        table = Table(
            "journey",
            "template",
            "channel",
            "sent",
            "opened",
            "clicked",
            "converted",
            "suppressed",
            title=title,
        )
        for row in data["rows"]:
            table.add_row(
                str(row.get("journey")),
                str(row.get("template")),
                str(row.get("channel")),
                f"{row['sent']:,}",
                f"{row['opened']:,}",
                f"{row['clicked']:,}",
                f"{row['converted']:,}",
                f"{row['suppressed_total']:,}",
            )
        out.print(table)
        reasons = data.get("suppressed_by_reason") or {}
        if reasons:
            part = Table("suppressed because", "messages", title="suppressions")
            for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
                part.add_row(reason, f"{count:,}")
            out.print(part)
        return
    if kind == "journeys":
        for journey in data["journeys"]:
            uplift = journey.get("uplift") or {}
            lift = uplift.get("uplift")
            goal = journey.get("goal_rate")
            heading = (
                f"{journey['journey']}: {journey['entered']:,} entered, goal rate "
                f"{'' if goal is None else f'{goal:.1%}'}, uplift vs holdout "
                f"{'n/a' if lift is None else f'{lift:+.1%}'}"
            )
            table = Table("step", "reached", "share", title=heading)
            for step in journey["steps"]:
                table.add_row(step["state"], f"{step['reached']:,}", f"{step['share']:.1%}")
            out.print(table)
        return
    table = Table("figure", "value", title=title)
    for key, value in data.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            table.add_row(key.replace("_", " "), f"{value:,}")
    out.print(table)
    for key in ("content_preference", "product_preference", "main_paths", "arrivals"):
        rows = data.get(key) or []
        if rows:
            part = Table(*rows[0].keys(), title=key.replace("_", " "))
            for row in rows:
                part.add_row(*(str(v) for v in row.values()))
            out.print(part)
