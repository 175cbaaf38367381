"""The processes: ``serve``, ``worker``, ``scheduler``, and the one-shot ``drain`` and ``tick``."""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from automation import clock
from automation.cli.output import err, fail, out


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


def drain() -> None:
    """Process everything stored but not processed, and what it produces, then exit."""
    from automation.events.outbox import unprocessed_count
    from automation.worker.embedded import drain as run_drain

    published = run_drain()
    left = unprocessed_count()
    out.print(f"drained: {published} events published to the in-process worker; {left} left")
    if left:
        fail(f"{left} events could not be processed; see events.last_error")


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
