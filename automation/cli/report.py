"""``automation report``: manager reports for a period, as tables, JSON or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from automation.cli.output import fail, out

FORMATS = ("table", "json", "html")


def report(
    kind: Annotated[str, typer.Argument(help="funnel, journeys, campaigns or weblog")],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="first day, YYYY-MM-DD, included (default: 29 days before --to)",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="last day, YYYY-MM-DD, included (default: today)", show_default=False
        ),
    ] = None,
    format_: Annotated[
        str,
        typer.Option("--format", help="table (terminal), json, or html (one self-contained page)"),
    ] = "table",
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="write the report to this file instead of the terminal (any format)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Manager reports for a period (dates inclusive, business time zone)."""
    import json

    from automation.reports.period import Period

    builders = {"funnel", "weblog", "campaigns", "journeys"}
    if kind not in builders:
        fail(f"report '{kind}': one of {', '.join(sorted(builders))}")
    if format_ not in FORMATS:
        fail(f"--format {format_}: table, json or html")
    if out_file is not None:
        _check_out(out_file)
    try:
        period = Period.of(from_, to)
    except ValueError as exc:
        fail(f"period: {exc}")
    data = _build_report(kind, period)
    if format_ == "json":
        text = json.dumps(data, ensure_ascii=False, default=str, indent=2)
    elif format_ == "html":
        from automation.reports.html import render_html

        text = render_html(kind, data)
    else:
        text = ""
    if out_file is None:
        if format_ == "json":
            out.print_json(text)
        elif format_ == "html":
            print(text)
        else:
            _report_table(kind, data, out)
        return
    with out_file.open("w", encoding="utf-8") as f:
        if format_ == "table":
            # A file gets plain text at a fixed width: no colours, no terminal codes.
            _report_table(kind, data, Console(file=f, width=120, color_system=None))
        else:
            f.write(text if text.endswith("\n") else text + "\n")
    out.print(
        f"{kind} report ({format_}) written to {out_file}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _check_out(path: Path) -> None:
    """Refuse, before any work, a file that cannot be written where it is asked for."""
    folder = path.parent
    if not folder.is_dir():
        fail(f"--out {path}: the folder {folder} does not exist")
    if path.is_dir():
        fail(f"--out {path}: is a folder, not a file")


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


def _report_table(kind: str, data: dict[str, Any], console: Console) -> None:
    period = data["period"]
    title = f"{kind} {period['from']} – {period['to']} ({period['timezone']})"
    if kind == "funnel":
        table = Table("rung", "reached", "rate", "moved in", title=title)
        for rung in data["rungs"]:
            rate = "" if rung["rate"] is None else f"{rung['rate']:.1%}"
            moved = "" if rung["moved_in"] is None else str(rung["moved_in"])
            table.add_row(rung["rung"], f"{rung['reached']:,}", rate, moved)
        console.print(table)
        return
    if kind == "campaigns":
        _campaigns_table(title, data, console)
        return
    if kind == "journeys":
        _journeys_tables(title, data, console)
        return
    table = Table("figure", "value", title=title)
    for key, value in data.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            table.add_row(key.replace("_", " "), f"{value:,}")
    console.print(table)
    for key in ("content_preference", "product_preference", "main_paths", "arrivals"):
        rows = data.get(key) or []
        if rows:
            part = Table(*rows[0].keys(), title=key.replace("_", " "))
            for row in rows:
                part.add_row(*(str(v) for v in row.values()))
            console.print(part)


def _campaigns_table(title: str, data: dict[str, Any], console: Console) -> None:
    table = Table(
        "journey",
        "template",
        "channel",
        "sent",
        "opened",
        "clicked",
        "converted",
        "suppressed",
        title=f"{title}: messages decided in the period",
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
    console.print(table)
    reasons = data.get("suppressed_by_reason") or {}
    if reasons:
        part = Table("suppressed because", "messages", title="suppressions")
        for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
            part.add_row(reason, f"{count:,}")
        console.print(part)


def _journeys_tables(title: str, data: dict[str, Any], console: Console) -> None:
    """Per journey: its outcomes, its uplift in words, and its steps with their ways in."""
    from rich.markup import escape

    from automation.reports import wording

    console.print(
        f"[bold]{escape(title)}[/]: the enrollments that entered in the period, as of its end "
        "('automation journeys list' counts every enrollment ever, with no period)",
        highlight=False,
    )
    for j in data["journeys"]:
        ended = f"completed {j['completed']:,}, exited {j['exited']:,}, still in {j['active']:,}"
        goal = (
            f"goal rate {wording.goal_rate(j)} ({j['converted']:,} converted)"
            if wording.has_goal(j)
            else wording.NO_GOAL
        )
        console.print(
            f"\n[bold]{escape(j['journey'])}[/]: {j['entered']:,} entered; {goal}; {ended}",
            highlight=False,
        )
        console.print(
            f"  uplift vs holdout: {wording.uplift_sentence(j)}", markup=False, highlight=False
        )
        split = wording.completed_split(j)
        if split:
            console.print(f"  {split}", markup=False, highlight=False)
        ways = j.get("ways_in") or {}
        table = Table("step", "reached", "share", "came from")
        for step in j["steps"]:
            table.add_row(
                wording.step_name(j, step["state"]),
                f"{step['reached']:,}",
                wording.pct(step["share"]),
                wording.came_from(ways.get(step["state"])),
            )
        console.print(table)
    console.print(wording.STEPS_NOTE, highlight=False)
