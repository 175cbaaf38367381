"""``automation journeys``: journey definitions, their versions and who is in them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from automation.cli.output import fail, fail_on_problems, out

app = typer.Typer(help="Journey definitions.", no_args_is_help=True)


@app.command("validate")
def journeys_validate(
    files: Annotated[list[Path], typer.Argument(help="journey YAML files")],
) -> None:
    """Check journey files; every problem as FILE:LINE: reason."""
    from automation.journeys.spec import SpecError, load_file

    problems: list[str] = []
    for path in files:
        try:
            spec = load_file(path)
            out.print(f"{path}: ok ({spec.journey_id}, {len(spec.states)} states)", highlight=False)
        except SpecError as exc:
            problems.extend(exc.problems)
    fail_on_problems(problems)


@app.command("publish")
def journeys_publish(
    files: Annotated[list[Path] | None, typer.Argument(help="journey YAML files")] = None,
    builtin: Annotated[
        bool, typer.Option("--builtin", help="the journeys the product ships")
    ] = False,
) -> None:
    """Freeze each file as its journey's next version (in-flight customers stay on theirs)."""
    from automation.journeys.registry import builtin_files, publish_files
    from automation.journeys.spec import SpecError

    paths = [*(files or []), *(builtin_files() if builtin else [])]
    if not paths:
        fail("name journey files, or --builtin")
    try:
        published = publish_files(paths)
    except SpecError as exc:
        fail_on_problems(exc.problems)
        return
    for p in published:
        what = f"published v{p.version}" if p.created else f"unchanged (v{p.version})"
        out.print(f"{p.journey_id}: {what}", highlight=False)


@app.command("list")
def journeys_list() -> None:
    """Journeys, their status and latest version, and customers per state."""
    from automation.journeys.registry import summary

    table = Table("journey", "status", "version", "customers")
    for j in summary():
        counts = "; ".join(
            f"{v}: " + ", ".join(f"{s} {n}" for s, n in sorted(states.items()))
            for v, states in sorted(j["customers"].items())
        )
        table.add_row(j["journey"], j["status"], f"v{j['latest_version']}", counts or "-")
    out.print(table)


@app.command("show")
def journeys_show(journey: str) -> None:
    """One journey: versions and customers per state, as JSON."""
    from automation.journeys.registry import summary

    out.print_json(data=summary(journey)[0])


@app.command("pause")
def journeys_pause(journey: str) -> None:
    """No new entrants; customers keep their place, timers wait."""
    from automation.journeys.registry import set_status
    from automation.models import JourneyStatus

    set_status(journey, JourneyStatus.PAUSED)
    out.print(f"{journey}: paused", highlight=False)


@app.command("resume")
def journeys_resume(journey: str) -> None:
    """Resume a paused journey; timers that came due meanwhile fire on the next tick."""
    from automation.journeys.registry import set_status
    from automation.models import JourneyStatus

    set_status(journey, JourneyStatus.ACTIVE)
    out.print(f"{journey}: active", highlight=False)


@app.command("enter")
def journeys_enter(
    journey: str,
    where: Annotated[
        str, typer.Option(help="a condition in YAML, e.g. '{customer.has_children: true}'")
    ] = "{}",
) -> None:
    """Enter every customer matching a condition (a segment) into a journey, in bulk."""
    import yaml

    from automation.journeys.bulk import enter_matching

    try:
        condition = yaml.safe_load(where)
    except yaml.YAMLError as exc:
        fail(f"--where is not YAML: {exc}")
    entered = enter_matching(journey, condition)
    out.print(f"{journey}: {entered} customers entered", highlight=False)
