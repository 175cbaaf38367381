"""``automation report``: manager reports for a period, as tables, JSON or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from automation.cli.output import fail, out

FORMATS = ("table", "json", "html", "csv")
KINDS = (
    "campaigns",
    "funnel",
    "journeys",
    "weblog",
    "segments",
    "interest",
    "products",
    "service",
)
SEGMENTED = ("interest", "products", "segments", "weblog")  # the kinds --segment applies to


def report(
    kind: Annotated[
        str,
        typer.Argument(
            help="funnel, journeys, campaigns, weblog, segments, interest, products or service"
        ),
    ],
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
        typer.Option(
            "--format",
            help="table (terminal), json, or html (one self-contained page); csv: the rows",
        ),
    ] = "table",
    segment: Annotated[
        str | None,
        typer.Option(
            "--segment",
            help="only this segment's members (weblog, segments, interest, products)",
            show_default=False,
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            help="interest: a purchase counts within this many days of --from (default 30)",
            show_default=False,
        ),
    ] = None,
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

    from automation.reports.flat import CSV_KINDS, csv_text
    from automation.reports.period import Period
    from automation.reports.segment_groups import UnknownSegment

    if kind not in KINDS:
        fail(f"report '{kind}': one of {', '.join(KINDS)}")
    if format_ not in FORMATS:
        fail(f"--format {format_}: table, json, html or csv")
    if format_ == "csv" and kind not in CSV_KINDS:
        fail(f"--format csv: not for the {kind} report (use json); for {', '.join(CSV_KINDS)}")
    if segment is not None and kind not in SEGMENTED:
        fail(f"--segment: only for {', '.join(SEGMENTED)}, not {kind}")
    if days is not None and kind != "interest":
        fail(f"--days: only for interest, not {kind}")
    if out_file is not None:
        _check_out(out_file)
    try:
        period = Period.of(from_, to)
    except ValueError as exc:
        fail(f"period: {exc}")
    try:
        data = _build_report(kind, period, segment, days)
    except (UnknownSegment, ValueError) as exc:  # an unknown segment, --days out of range
        fail(str(exc))
    if format_ == "json":
        text = json.dumps(data, ensure_ascii=False, default=str, indent=2)
    elif format_ == "html":
        from automation.reports.html import render_html

        text = render_html(kind, data)
    elif format_ == "csv":
        text = csv_text(kind, data)
    else:
        text = ""
    if out_file is None:
        if format_ == "json":
            out.print_json(text)
        elif format_ in ("html", "csv"):
            print(text, end="" if text.endswith("\n") else "\n")
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


def _build_report(kind: str, period: Any, segment: str | None, days: int | None) -> dict[str, Any]:
    if kind in ("segments", "interest", "products"):
        from automation.reports.analysis import analysis_report

        return analysis_report(kind, period, segment=segment, days=days)
    if kind == "funnel":
        from automation.reports.funnel import funnel_report

        return funnel_report(period).to_dict()
    if kind == "weblog":
        from automation.reports.weblog import weblog_report

        return weblog_report(period, segment=segment).to_dict()
    if kind == "campaigns":
        from automation.reports.campaigns import campaign_report

        return campaign_report(period).to_dict()
    if kind == "service":
        from automation.reports.service import service_report

        return service_report(period)
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
    if kind in ("segments", "interest", "products", "service"):
        _rows_table(kind, title, data, console)
        return
    if data.get("group"):
        title += f", {_group_label(data['group'])} ({data.get('group_customers', 0):,} customers)"
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


def _group_label(group: Any) -> str:
    if isinstance(group, dict) and set(group) == {"segment"}:
        return f"segment {group['segment']}"
    return f"group {group}"


# What each analysis table leaves out (in the JSON and CSV) to fit a terminal, and the
# shorter headers it uses.
_LEFT_OUT = {"segment_name", "name", "category"}  # a product's or segment's long labels
_KEPT = {"service": frozenset({"category"})}  # the service desk's rows are its categories
_HEADERS = {
    "age_band": "age",
    "page_views": "pages",
    "page_views_per_visitor": "pages/visitor",
    "visits_per_week_per_visitor": "visits/wk/visitor",
    "viewed_then_bought": "viewed → bought",
    "interested_not_bought": "interested, not bought",
    "purchases": "bought",
    "view_to_purchase": "view → purchase",
    "first_policy": "first",
}


def _rows_table(kind: str, title: str, data: dict[str, Any], console: Console) -> None:
    """The segments, interest and products reports: their rows, and what they mean.

    The segments' rows are two tables (figures, then the top keys) to fit 120 columns.
    """
    from automation.reports.analysis import table_notes
    from automation.reports.flat import flat_rows

    # The terminal gets each row's top two keys without their names (JSON: all of it).
    short = {
        **data,
        "rows": [
            {k: _short(v) for k, v in r.items() if k not in _LEFT_OUT - _KEPT.get(kind, set())}
            for r in data["rows"]
        ],
    }
    rows = flat_rows(kind, short)
    if not rows:
        console.print(f"{title}: no segments", markup=False, highlight=False)
        return
    if kind == "segments":
        keys = ("segment", "age_band", "gender")
        tops = [k for k in rows[0] if k.startswith("top_")]
        figures = [k for k in rows[0] if k not in tops]
        _print_rows(console, title, [{k: r[k] for k in figures} for r in rows])
        tops_title = f"{title}: most viewed (page views)"
        _print_rows(console, tops_title, [{k: r[k] for k in (*keys, *tops)} for r in rows])
    else:
        _print_rows(console, title, rows)
    for line in table_notes(kind, data):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _print_rows(console: Console, title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for h in rows[0]:
        numeric = isinstance(rows[0][h], int | float) and not isinstance(rows[0][h], bool)
        table.add_column(
            _HEADERS.get(h, h.replace("_", " ")), justify="right" if numeric else "left"
        )
    for row in rows:
        table.add_row(*(_cell(k, v) for k, v in row.items()))
    console.print(table)


def _short(value: Any) -> Any:
    if isinstance(value, list):
        return [{k: v for k, v in d.items() if k != "name"} for d in value[:2]]
    return value


def _cell(key: str, value: Any) -> str:
    if key in ("rate", "view_to_purchase") and isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


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
