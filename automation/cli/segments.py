"""``automation segments``: customer segments, defined in files, refreshed in SQL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from automation.cli.output import fail, fail_on_problems, out

app = typer.Typer(help="Customer segments.", no_args_is_help=True)


@app.command("validate")
def segments_validate(files: list[Path]) -> None:
    """Check segment files; every problem as FILE:LINE: reason."""
    from automation.segments.spec import SegmentSpecError, load_file

    problems: list[str] = []
    for file in files:
        try:
            specs = load_file(file)
        except SegmentSpecError as exc:
            problems += exc.problems
            continue
        out.print(f"{file}: {len(specs)} segments ok", highlight=False)
    fail_on_problems(problems)


@app.command("publish")
def segments_publish(
    files: Annotated[list[Path] | None, typer.Argument()] = None,
    builtin: Annotated[bool, typer.Option("--builtin", help="the shipped segments")] = False,
) -> None:
    """Save segment definitions (refresh fills them)."""
    from automation.segments import registry
    from automation.segments.spec import SegmentSpecError, builtin_files

    paths = (builtin_files() if builtin else []) + list(files or [])
    if not paths:
        fail("name segment files, or --builtin")
    try:
        published = registry.publish_files(paths, builtin=builtin)
    except SegmentSpecError as exc:
        fail_on_problems(exc.problems)
        return
    for item in published:
        state = "published" if item.changed else "unchanged"
        out.print(f"{item.segment_id}: {state}", highlight=False)


@app.command("list")
def segments_list() -> None:
    """Every segment with its member count."""
    from automation.db import session_scope
    from automation.segments import registry
    from automation.segments.membership import member_counts

    counts = member_counts()
    table = Table("segment", "name", "members", "refreshed")
    with session_scope() as session:
        for row, _ in registry.segments(session):
            refreshed = row.refreshed_at.isoformat() if row.refreshed_at else "never"
            table.add_row(row.segment_id, row.name, f"{counts.get(row.segment_id, 0):,}", refreshed)
    out.print(table)


@app.command("show")
def segments_show(segment: str) -> None:
    """A segment's definition, members and recent changes, as JSON."""
    import json

    from sqlmodel import col, select

    from automation.db import session_scope
    from automation.models import SegmentChange
    from automation.segments import registry
    from automation.segments.membership import member_counts

    members = member_counts().get(segment, 0)  # before the session: SQLite has one writer
    with session_scope() as session:
        row = registry.get(session, segment)
        changes = session.exec(
            select(SegmentChange)
            .where(SegmentChange.segment_id == segment)
            .order_by(col(SegmentChange.id).desc())
            .limit(10)
        ).all()
        data = {
            "segment": row.segment_id,
            "name": row.name,
            "description": row.description,
            "when": row.definition,
            "members": members,
            "refreshed_at": row.refreshed_at.isoformat() if row.refreshed_at else None,
            "recent_changes": [
                {
                    "customer_id": c.customer_id,
                    "change": "entered" if c.entered else "exited",
                    "at": c.at.isoformat(),
                    "cause": c.cause,
                }
                for c in changes
            ],
        }
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


@app.command("refresh")
def segments_refresh(
    segment: Annotated[str | None, typer.Argument(help="one segment; all when omitted")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="record changes without events")] = False,
) -> None:
    """Recompute membership in SQL; entries and exits become events journeys can use."""
    from automation.segments.membership import refresh, refresh_all

    emit = False if quiet else None
    results = [refresh(segment, emit=emit)] if segment else refresh_all(emit=emit)
    for r in results:
        out.print(
            f"{r.segment_id}: {r.members:,} members (+{r.entered:,} −{r.exited:,}), "
            f"{r.events:,} events",
            highlight=False,
        )
