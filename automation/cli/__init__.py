"""``automation``: the command line of the contract.

Errors a user can cause exit non-zero with one line on stderr, never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError
from typer.core import TyperGroup

from automation import clock
from automation.errors import AutomationError, NotYetAvailable


class _Commands(TyperGroup):
    """Turns our errors into one line on stderr and an exit code, for every command."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NotYetAvailable as exc:
            say_error(str(exc), "[yellow]not yet available:[/]")
            ctx.exit(3)
        except AutomationError as exc:
            say_error(str(exc))
            ctx.exit(1)
        except (OperationalError, ProgrammingError) as exc:
            if not _missing_schema(exc):
                raise
            say_error("the database has no tables yet: run `automation db upgrade`")
            ctx.exit(1)


def _missing_schema(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc))
    return "no such table" in text or ("relation" in text and "does not exist" in text)


app = typer.Typer(
    cls=_Commands,
    help="Event-driven marketing automation for a life insurer's eCRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
journeys_app = typer.Typer(help="Journey definitions.", no_args_is_help=True)
segments_app = typer.Typer(help="Customer segments.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(journeys_app, name="journeys")
app.add_typer(segments_app, name="segments")

out = Console()
err = Console(stderr=True)


def say_error(message: str, label: str = "[bold red]error:[/]") -> None:
    """One line on stderr; the message is user data, never Rich markup."""
    err.print(f"{label} {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, then exit non-zero."""
    say_error(message)
    raise typer.Exit(code)


def _not_yet(what: str) -> NoReturn:
    raise NotYetAvailable(f"'{what}' is not yet available in this version")


# --- database -----------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations in migrations/."""
    from automation.db.migrate import upgrade

    upgrade(revision)
    out.print(f"database at revision {revision}")


# --- runtime ------------------------------------------------------------------------


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """API + web pages + worker (stub broker) + relay, in one process."""
    import uvicorn

    from automation.api.app import create_app
    from automation.worker.embedded import Embedded

    embedded = Embedded()
    embedded.start()
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="info")
    finally:
        embedded.stop()


@app.command()
def worker(
    processes: Annotated[int, typer.Option(help="worker processes")] = 2,
    threads: Annotated[int, typer.Option(help="threads per process")] = 4,
) -> None:
    """Dramatiq workers on BROKER_URL (same as `dramatiq worker`)."""
    from automation.config import get_settings

    if get_settings().broker_url.startswith("stub"):
        fail(
            "the stub broker lives inside one process: use `automation serve` or "
            "`automation drain`, or set AUTOMATION_BROKER_URL to redis://… or amqp://…"
        )
    args = [
        sys.executable,
        "-m",
        "dramatiq",
        "automation.worker.actors",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]
    os.execv(sys.executable, args)


@app.command()
def scheduler(
    status: Annotated[bool, typer.Option("--status", help="show what each job last did")] = False,
) -> None:
    """The scheduler process (same as `python scheduler.py`): one leader runs the jobs."""
    import signal
    import threading

    if status:
        _scheduler_status()
        return
    from automation.scheduler.service import SchedulerService

    # A long-running service says what it does: leading, stepping down, jobs failing.
    logging.getLogger("automation").setLevel(logging.INFO)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    service = SchedulerService()
    err.print(f"scheduler: waiting to lead (every {service.poll:g}s); Ctrl-C stops")
    service.run(stop)


def _scheduler_status() -> None:
    from automation.scheduler import state
    from automation.scheduler.jobs import JOBS

    table = Table("job", "scope", "last run", "last day", "emitted", "what")
    rows = {(r.job, r.scope): r for r in state.runs()}
    for job in JOBS:
        for (name, scope), row in sorted(rows.items()):
            if name == job.name:
                last_run = row.last_run_at.isoformat() if row.last_run_at else ""
                last_day = row.last_day.isoformat() if row.last_day else ""
                table.add_row(name, scope, last_run, last_day, str(row.last_emitted), job.what)
        if not any(name == job.name for name, _ in rows):
            table.add_row(job.name, "", "never", "", "", job.what)
    out.print(table)


@app.command()
def drain() -> None:
    """Process everything stored but not processed, and what it produces, then exit."""
    from automation.events.outbox import unprocessed_count
    from automation.worker.embedded import drain as run_drain

    published = run_drain()
    left = unprocessed_count()
    out.print(f"drained: {published} events published to the in-process worker; {left} left")
    if left:
        fail(f"{left} events could not be processed; see events.last_error")


@app.command()
def tick(at: Annotated[str | None, typer.Option(help="ISO time with offset")] = None) -> None:
    """Run every scheduler job that is due at that time, once (process with `drain`)."""
    from automation.scheduler.runner import run_all

    if at is not None:
        clock.freeze(_aware(at))
    runs = run_all()
    parts = ", ".join(f"{r.job} {r.emitted}" for r in runs)
    out.print(f"tick at {clock.now().isoformat()}: {parts}")
    failed = [r for r in runs if r.error]
    for run in failed:
        err.print(f"error: job {run.job}: {run.error}", markup=False)
    if failed:
        raise typer.Exit(1)


def _aware(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at '{text}' is not an ISO time")
    if value.tzinfo is None:
        fail(f"--at '{text}' has no time zone; add an offset such as +09:00")
    return value


# --- data ---------------------------------------------------------------------------


class ImportKind(StrEnum):
    customers = "customers"
    products = "products"
    policies = "policies"
    events = "events"


@app.command("import")
def import_(kind: ImportKind, file: Path) -> None:
    """Import CSV or JSONL; bad rows are reported as FILE:LINE and skipped."""
    from automation.events.imports.importer import import_file

    report = import_file(kind.value, file, console=err)
    for problem in report.problems:
        err.print(problem, markup=False, highlight=False, soft_wrap=True)
    out.print(f"{kind.value}: {report.ok} imported, {len(report.problems)} bad rows skipped")
    if report.problems:
        raise typer.Exit(1)


@keys_app.command("create")
def keys_create(
    scope: Annotated[str, typer.Argument(help="ingest, admin or agent")],
    name: Annotated[str | None, typer.Option(help="a name to recognise it by")] = None,
) -> None:
    """Print a new API key once; only its hash is stored."""
    from automation.api.keys import create_key

    key = create_key(scope, name)
    print(key)
    err.print("[dim]store it now: it is not shown again[/]")


# --- later issues -------------------------------------------------------------------


@app.command()
def demo(
    customers: int = 1000,
    days: int = 60,
    out_dir: Annotated[Path, typer.Option("--out")] = Path("demo-out"),
) -> None:
    """Seed a synthetic insurer, replay D days, print the funnel, write an HTML report."""
    from automation.demo import run_demo

    run_demo(customers=customers, days=days, out=out_dir, console=out)


@segments_app.command("validate")
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
    _problems(problems)


@segments_app.command("publish")
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
        _problems(exc.problems)
        return
    for item in published:
        state = "published" if item.changed else "unchanged"
        out.print(f"{item.segment_id}: {state}", highlight=False)


@segments_app.command("list")
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


@segments_app.command("show")
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


@segments_app.command("refresh")
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


# --- journeys -----------------------------------------------------------------------


@journeys_app.command("validate")
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
    _problems(problems)


@journeys_app.command("publish")
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
        _problems(exc.problems)
        return
    for p in published:
        what = f"published v{p.version}" if p.created else f"unchanged (v{p.version})"
        out.print(f"{p.journey_id}: {what}", highlight=False)


@journeys_app.command("list")
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


@journeys_app.command("show")
def journeys_show(journey: str) -> None:
    """One journey: versions and customers per state, as JSON."""
    from automation.journeys.registry import summary

    out.print_json(data=summary(journey)[0])


@journeys_app.command("pause")
def journeys_pause(journey: str) -> None:
    """No new entrants; customers keep their place, timers wait."""
    from automation.journeys.registry import set_status
    from automation.models import JourneyStatus

    set_status(journey, JourneyStatus.PAUSED)
    out.print(f"{journey}: paused", highlight=False)


@journeys_app.command("resume")
def journeys_resume(journey: str) -> None:
    """Resume a paused journey; timers that came due meanwhile fire on the next tick."""
    from automation.journeys.registry import set_status
    from automation.models import JourneyStatus

    set_status(journey, JourneyStatus.ACTIVE)
    out.print(f"{journey}: active", highlight=False)


@journeys_app.command("enter")
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


def _problems(problems: list[str]) -> None:
    for problem in problems:
        err.print(problem, markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)


@app.command()
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


def main(argv: list[str] | None = None) -> Any:
    """Console entry point."""
    logging.basicConfig(
        level=os.environ.get("AUTOMATION_LOG_LEVEL", "WARNING"),
        format="%(levelname)s %(name)s: %(message)s",
    )
    return app(args=argv)
