"""The processes: ``serve``, ``worker``, ``scheduler``, and the one-shot ``drain`` and ``tick``.

``serve`` and ``worker`` put links in mails or answer them, so outside the embedded
default they refuse to start without a ``SITE_URL``, with an http ``PUBLIC_URL``, or
with an unusable DKIM key (:func:`_check_mail_settings`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from automation import clock
from automation.cli.output import err, fail, out


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """API + web pages + worker (stub broker) + relay, in one process."""
    import uvicorn

    from automation.api.app import create_app
    from automation.worker.embedded import Embedded

    _check_mail_settings()
    embedded = Embedded()
    embedded.start()
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="info")
    finally:
        embedded.stop()


def worker(
    processes: Annotated[int, typer.Option(help="worker processes")] = 2,
    threads: Annotated[int, typer.Option(help="threads per process")] = 4,
    prefetch: Annotated[
        int, typer.Option(help="messages a process holds per queue (0: as many as threads)")
    ] = 0,
) -> None:
    """Dramatiq workers on BROKER_URL, each started again if it dies."""
    from automation.config import get_settings

    if get_settings().broker_url.startswith("stub"):
        fail(
            "the stub broker lives inside one process: use `automation serve` or "
            "`automation drain`, or set AUTOMATION_BROKER_URL to redis://… or amqp://…"
        )
    _check_mail_settings()
    from automation.worker.supervise import supervise

    raise typer.Exit(supervise(processes, threads, prefetch))


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


def _check_mail_settings() -> None:
    """Refuse (one line, exit 1) settings that would send unusable links or signatures."""
    from automation.channels.signing import signer
    from automation.config import get_settings

    get_settings().check_serving()
    signer()  # a bad DKIM key fails here, not on the first mail


def _scheduler_status() -> None:
    from automation.config import get_settings
    from automation.scheduler import state
    from automation.scheduler.jobs import JOBS

    zone = get_settings().timezone
    # Readable in 80 columns: no borders, one "last" column (a run's time to the minute,
    # or the day a zone was last covered) that never wraps, since a cut time says
    # nothing; the scope folds and the description wraps in what is left.
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        caption=f"last: the job's last run ({zone}), or the last day done in that zone",
    )
    table.add_column("job", no_wrap=True)
    table.add_column("scope", overflow="fold")
    table.add_column("last", no_wrap=True)
    table.add_column("emitted", justify="right", no_wrap=True)
    table.add_column("what", ratio=1)
    rows = sorted(state.runs(), key=lambda r: (r.scope != "*", r.scope))
    for job in JOBS:
        mine = [r for r in rows if r.job == job.name]
        for i, row in enumerate(mine):
            last = row.last_day.isoformat() if row.last_day else ""
            if row.last_run_at is not None:
                last = _minute(row.last_run_at, zone)
            what = job.what if i == 0 else ""  # once per job, not once per zone
            table.add_row(job.name, row.scope, last, f"{row.last_emitted:,}", what)
        if not mine:
            table.add_row(job.name, "", "never", "", job.what)
    out.print(table)


def _minute(at: datetime, zone: str) -> str:
    """``2026-11-22 10:00``: the time in ``zone``, to the minute."""
    import pendulum

    return pendulum.instance(at).in_tz(zone).format("YYYY-MM-DD HH:mm")


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
