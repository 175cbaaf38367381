"""The demo replay: seed an insurer, move the clock two hours at a time, let people live.

Every tick: what people planned for those hours happens at its own time (opening
mail, clicking, replying, buying) through the real routes; the website's visits are
posted to ``POST /v1/events``; the scheduler's jobs run (``_run_jobs``); the agent
works the call queue; and the customers who were sent something decide how they will
answer it. After each step the real actors process the events and deliver what the
journeys decided (``pump.py``; with a Redis or RabbitMQ broker, separate worker
processes do it and the demo waits for them, ``workers.py``), so e-mails land in the
sink, SMS in the outbox (both under ``--out``, ``folder.py``) and calls in ``call_tasks``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum
from rich.console import Console
from sqlalchemy import make_url

from automation import clock
from automation.config import get_settings
from automation.demo import seed
from automation.demo.agent import work_queue
from automation.demo.checks import print_checks
from automation.demo.errors import DemoError
from automation.demo.folder import Folder, refuse_used_database, run_folder
from automation.demo.progress import day_progress
from automation.demo.pump import Pump
from automation.demo.report import write_report
from automation.demo.responses import answer_sent, renew_policy
from automation.demo.results import collect
from automation.demo.summary import print_summary
from automation.demo.web import Visit, day_of_visits
from automation.demo.workers import WorkerPool
from automation.demo.world import World, api_client
from automation.journeys.bulk import enter_matching
from automation.journeys.registry import builtin_files, publish_files
from automation.scheduler.jobs import JOBS
from automation.scheduler.runner import run_all, run_job
from automation.segments.registry import publish_builtin as publish_segments

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

START = pendulum.datetime(2026, 9, 1, tz="Asia/Seoul")
TICK = timedelta(hours=2)
SLOW_JOBS_AT = (10,)  # local tick hours at which every job runs (run_all)
CAMPAIGN_AT = timedelta(hours=10)  # day 1, 10:00: members without a policy join the ladder
ORGANIC_RENEWAL = 0.14  # maturing policies renewed without any message (the baseline)


def run_demo(
    customers: int, days: int, out: Path, console: Console, seed: int = 7
) -> dict[str, Any]:
    """Seed, replay ``days`` days, print the summary and the checks, write
    ``out/report.html``; the database and the outboxes are ``out``'s (``folder.py``)."""
    began = time.monotonic()
    with run_folder(out) as folder, clock.frozen_at(START):
        from automation.db.migrate import upgrade

        upgrade("head")
        refuse_used_database()
        with api_client() as client, _engine_workers(folder) as pump:
            world = _start(random.Random(seed), client, pump, customers, days)
            replay(world, days, console)
            results = collect(world, START, days, seed)
            engine = _engine_line(pump)
    print_summary(results, console)
    print_checks(results, console)
    report = write_report(results, folder.root / "report.html")
    console.print(
        f"\nHTML report: {report}\ne-mails: {folder.email}\nSMS: {folder.sms}"
        f"\n{engine}\nreplayed in {time.monotonic() - began:.0f} s",
        highlight=False,
        soft_wrap=True,  # a path broken over two lines cannot be copied
    )
    return results


def _start(
    rng: random.Random, client: TestClient, pump: Pump | WorkerPool, customers: int, days: int
) -> World:
    seeded = seed.seed(rng, customers, START, days)
    publish_files(builtin_files())
    publish_segments()
    world = World(
        rng,
        seeded.people,
        pump,
        client,
        work_mail=seeded.work_mail,
        policy_products=seeded.policy_products,
        maturities={m.policy_id: m.maturity_date for m in seeded.maturing},
    )
    for maturity in seeded.maturing:
        # Some customers renew on their own, messages or not: the holdout's baseline.
        if rng.random() < ORGANIC_RENEWAL:
            notice = get_settings().maturity_notice_days
            lead = timedelta(days=rng.uniform(1, notice - 1), hours=rng.uniform(0, 12))
            at = _local_noon(maturity.maturity_date) - lead
            person = world.person(maturity.customer_id)
            if person is not None and at > START:
                world.agenda.add(at, _renewal(world, person, maturity.policy_id))
    return world


def _renewal(world: World, person: Any, policy_id: str) -> Any:
    return lambda: renew_policy(world, person, policy_id, "organic")


def replay(world: World, days: int, console: Console) -> None:
    """Move the clock through ``days`` days, a tick at a time."""
    waiting: list[Visit] = []
    since = START
    with day_progress(console, days) as day_done:
        for day in range(days):
            midnight = START.add(days=day)
            waiting += day_of_visits(world.rng, world.people, midnight)
            for n in range(1, int(timedelta(days=1) / TICK) + 1):
                now = midnight + TICK * n
                waiting = _tick(world, since, now, waiting)
                if day == 0 and since - midnight < CAMPAIGN_AT <= now - midnight:
                    # Marketing ops start the ladder for the members without a policy.
                    enter_matching("conversion-ladder", {"customer.lifecycle_stage": "member"})
                since = now
            day_done(day, world)
    # The last tick's answers (SMS reports, opens) were posted after its last pump:
    # work them off before the results are read, or they are left unprocessed.
    world.pump()


def _tick(
    world: World, since: pendulum.DateTime, now: pendulum.DateTime, waiting: list[Visit]
) -> list[Visit]:
    """The replay from ``since`` to ``now``; returns the visits still to come.

    What people planned happens at its own time (the routes record that time); the
    engine works it off at the end of each step, with the clock at ``now``.
    """
    for at, action in world.agenda.due(now):
        clock.freeze(at)
        action()
    clock.freeze(now)
    # Posting the visits reads nothing the engine makes: worker processes go on with the
    # agenda's events meanwhile. The jobs wait for both: the replay's clock jumps a
    # tick, and a delivery still under way would look stuck to the backlog job.
    world.pump(reads_next=False)
    due = [v for v in waiting if v.ends_at is not None and v.ends_at <= now]
    if due:
        joined = [v.person for v in due if v.signed_up]
        seed.register_signups(world.rng, joined, now)
        world.joined(joined)
        world.send_events([e for v in due for e in v.events])
    world.pump()
    _run_jobs(now)
    world.pump()
    zone = get_settings().timezone
    if work_queue(world, since.in_tz(zone), now.in_tz(zone)):
        world.pump()
    answer_sent(world, since, now)
    return [v for v in waiting if v.ends_at is None or v.ends_at > now]


def _run_jobs(now: pendulum.DateTime) -> None:
    """The scheduler on a compressed cadence: the jobs that run every few seconds or
    minutes in production (timers, relay, maturity, anniversaries) run every tick, and
    once a day every job runs (``run_all``: the hourly activity, consent and segments
    jobs too; the segments job alone costs a fifth of a second a run at 1,000
    customers)."""
    if now.in_tz(get_settings().timezone).hour in SLOW_JOBS_AT:
        runs = run_all(now)
    else:
        runs = [run_job(j, now) for j in JOBS if j.every < 3600]
    for run in runs:
        if run.error:
            raise DemoError(f"scheduler job {run.job} failed: {run.error}")


def _local_noon(day: Any) -> datetime:
    return pendulum.datetime(day.year, day.month, day.day, 12, tz=get_settings().timezone)


def _engine_line(pump: Pump | WorkerPool) -> str:
    if isinstance(pump, Pump):
        return "engine: the real actors, worked off in the demo's process (stub broker)"
    url = make_url(get_settings().broker_url).render_as_string(hide_password=True)
    return (
        f"engine: {pump.processes} worker processes on {url}, waited on {pump.waits:,} "
        f"times for {pump.waited:.0f} s (log: {pump.log_file})"
    )


@contextmanager
def _engine_workers(folder: Folder) -> Iterator[Pump | WorkerPool]:
    """The stub broker worked off in the demo's thread (the embedded default), or
    separate worker processes on the Redis or RabbitMQ named in the settings."""
    if get_settings().broker_url.startswith("stub"):
        yield Pump()
        return
    pool = WorkerPool(folder.root / "workers.log")
    try:
        yield pool
    finally:
        pool.close()
