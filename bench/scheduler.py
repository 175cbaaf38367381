"""Scheduler jobs at scale: the maturity scan over 1,000,000 policies, the timers job
over 1,000,000 pending timers.

What is measured, in one run, with the clock frozen at "now" (``automation.clock``):

1. maturity (``--size N`` policies, default 1,000,000, held by ``--customers``
   customers, default a fifth of the larger of ``--size`` and ``--timers``):
   maturity dates spread uniformly over ten years around today (business time zone),
   10% of the policies not active, so a few thousand fall in the 20-day notice window
   and a few thousand more in the 30-day catch-up window of matured policies.
   ``automation.scheduler.jobs.maturity.run_maturity(now)`` is timed twice at the same
   instant: the first run emits ``policy_maturity_approaching`` / ``policy_matured``
   through ``emit`` → ``ingest``, the second must emit nothing (the SQL leaves out
   policies whose event is stored). Target: first run ≤ 2 s. Baselines, timed before
   the engine (nothing stored yet): the naive scan (every policy row by row from a
   server-side cursor, the windows tested in Python against today in the business
   time zone, then one ``SELECT`` per policy in a window for its event id), and
   bare SQL (the job's two indexed range queries alone, no events).
2. timers (``--timers N`` pending rows, default 1,000,000, of which ``--due N``,
   default 100,000, are due at "now", the rest within 30 days; one journey waiting
   on a 30-day timer, one keyed enrollment per timer):
   ``automation.scheduler.jobs.timers.fire_due_timers(now)`` is timed, then counted (exactly
   ``--due`` ``timer_due`` events and fired timers, none fired early) and run again
   (must emit 0). Target: ≤ 10 s for 100,000 due timers. Baseline, after resetting
   what the engine did (events deleted, ``fired_at`` cleared, ``VACUUM FULL``, so the
   tables are as compact as the engine found them):
   bare psycopg selecting the due timers as the job does, then per 1000 timers one
   transaction that ``COPY``s the same ``timer_due`` rows into ``events`` and sets
   ``fired_at``.

Ratios are time ratios, engine/baseline: below 1 the engine is faster.

Run::

    python bench/scheduler.py [--size N] [--timers N] [--due N] [--customers N]
    python bench/scheduler.py --quick    # 100,000 policies and timers, 10,000 due: CI

The bench always (re)creates the PostgreSQL database ``automation_bench_scheduler``
(admin ``postgresql://postgres@127.0.0.1:5432/test``) and sets
``AUTOMATION_DATABASE_URL`` to it for the code under test: the jobs scan whole tables,
so they need a database of their own. No broker is used (``stub://``: published
messages stay in memory, nothing consumes them). Set-up uses ``COPY`` and runs
``ANALYZE`` after it (autovacuum may be off), and a ``CHECKPOINT`` precedes each
phase's timed runs, so the set-up's WAL does not land a checkpoint in them. The last
line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import psycopg
from _common import (
    BenchError,
    Figure,
    PgBare,
    bench_db,
    check,
    measure,
    own_pg_database,
    parse_quick,
    peak_rss_mib,
)

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = bench_db("automation_bench_scheduler")
SPAN_DAYS = 3652  # maturity dates: ten years centred on today
ACTIVE_SHARE = 0.9
PAGE = 100_000  # rows per set-up COPY transaction
BATCH = 1000  # timers per baseline transaction, as the job's ingest batch
SEED = 7
QUICK = {"size": 100_000, "timers": 100_000, "due": 10_000}  # --quick: CI
TABLES = ("customers", "policies", "journeys", "enrollments", "timers", "events")
APPROACHING, MATURED, TIMER_DUE = "policy_maturity_approaching", "policy_matured", "timer_due"

JOURNEY_YAML = """\
journey: {journey_id}
name: bench timers
description: Waits 30 days for a reply; the scheduler's timers job fires the timer.
entry:
  on: segment_entered
start: wait
states:
  wait:
    on:
      - {{event: sms_replied, to: done}}
    after: {{wait: 30d, to: done}}
  done:
    end: true
"""

T = TypeVar("T")


# ---------------------------------------------------------------- set-up


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="policies scanned")
    parser.add_argument("--timers", type=int, default=1_000_000, help="pending timers")
    parser.add_argument("--due", type=int, default=100_000, help="of them due at 'now'")
    parser.add_argument(
        "--customers", type=int, default=0, help="customers (default: max(size, timers) / 5)"
    )
    return parse_quick(parser, QUICK)


def configure() -> str:
    """(Re)create the bench's database, export the settings (no broker), migrate."""
    return own_pg_database(
        PG_ADMIN_URL, BENCH_DB, "the jobs scan whole tables", "ANALYZE after set-up"
    )


class Bare(PgBare):
    """The bench's bare connection, with what its phases need besides."""

    def new_ids(self, table: str, n: int) -> list[int]:
        """``n`` ids from ``table``'s sequence (one call)."""
        query = f"SELECT nextval('{table}_id_seq') FROM generate_series(1, %s)"
        return [row[0] for row in self.rows(query, (n,))]

    def analyze(self, tables: Sequence[str] = TABLES) -> None:
        """Fresh planner statistics (autovacuum may be off, and set-up grew the tables)."""
        self.run(f"ANALYZE {', '.join(tables)}")

    def settle(self) -> None:
        """Before a timed phase (see :meth:`PgBare.checkpoint`)."""
        self.checkpoint()


CUSTOMER_COLUMNS = (
    "customer_id",
    "email",
    "birth_date",
    "has_children",
    "email_consent",
    "sms_consent",
    "call_consent",
    "ad_consent",
    "night_consent",
    "locale",
    "timezone",
    "lifecycle_stage",
    "value_tier",
    "activity_status",
    "attributes",
    "created_at",
    "updated_at",
)
POLICY_COLUMNS = (
    "policy_id",
    "customer_id",
    "status",
    "start_date",
    "maturity_date",
    "premium",
    "attributes",
    "updated_at",
)
ENROLLMENT_COLUMNS = (
    "id",
    "journey_id",
    "version_id",
    "customer_id",
    "key",
    "state",
    "step",
    "status",
    "control",
    "context",
    "entered_at",
    "state_entered_at",
)
TIMER_COLUMNS = ("enrollment_id", "step", "kind", "target", "due_at", "created_at")
EVENT_COLUMNS = (
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "customer_id",
    "properties",
    "source",
    "attempts",
)


def customer_id(i: int) -> str:
    return f"C{i:07d}"


def insert_customers(bare: Bare, n: int, now: datetime) -> None:
    """``n`` consenting members ``C0000000``…, in one COPY."""
    born = date(1980, 5, 1)
    fixed = (True, True, False, True, False, "ko-KR", "Asia/Seoul", "member", "regular", "active")
    rows = (
        (cid, f"{cid}@example.kr", born, True, *fixed, "{}", now, now)
        for cid in map(customer_id, range(n))
    )
    with bare.transaction():
        bare.copy("customers", CUSTOMER_COLUMNS, rows)


@dataclass(slots=True)
class Windows:
    """The maturity job's windows at "now": local dates, first and last inclusive."""

    today: date
    approaching: tuple[date, date]
    matured: tuple[date, date]

    @classmethod
    def at(cls, now: datetime) -> Windows:
        from automation.config import get_settings

        settings = get_settings()
        today = now.astimezone(ZoneInfo(settings.timezone)).date()
        notice, catch_up = settings.maturity_notice_days, settings.maturity_catch_up_days
        return cls(
            today,
            (today, today + timedelta(days=notice)),
            (today - timedelta(days=catch_up), today - timedelta(days=1)),
        )

    def kind(self, status: str, maturity: date | None) -> str | None:
        """The event a policy is due for (``maturity``/``matured`` prefix), or None."""
        if status != "active" or maturity is None:
            return None
        if self.approaching[0] <= maturity <= self.approaching[1]:
            return "maturity"
        if self.matured[0] <= maturity <= self.matured[1]:
            return "matured"
        return None


def insert_policies(bare: Bare, n: int, customers: int, windows: Windows) -> dict[str, int]:
    """``n`` policies over ``customers``, COPY per page; what the job should find."""
    rng = random.Random(SEED)
    expected = {"maturity": 0, "matured": 0}
    first = windows.today - timedelta(days=SPAN_DAYS // 2)
    updated = datetime.now(UTC)

    def page(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
        for i in range(start, stop):
            maturity = first + timedelta(days=rng.randrange(SPAN_DAYS + 1))
            roll = rng.random()
            status = "active" if roll < ACTIVE_SHARE else ("lapsed", "surrendered")[i % 2]
            kind = windows.kind(status, maturity)
            if kind:
                expected[kind] += 1
            start_date = maturity.replace(year=maturity.year - 10 - i % 11, day=1)
            premium = (30000, 52000, 110000)[i % 3]
            cid = customer_id(rng.randrange(customers))
            yield (f"P{i:08d}", cid, status, start_date, maturity, premium, "{}", updated)

    for start in range(0, n, PAGE):
        with bare.transaction():
            bare.copy("policies", POLICY_COLUMNS, page(start, min(n, start + PAGE)))
    return expected


def publish_journey(tag: str) -> tuple[str, int]:
    """Publish the timers journey from a temporary file; (journey id, version id)."""
    from automation.db import session_scope
    from automation.journeys.registry import publish_files
    from automation.models import Journey

    journey_id = f"bench-timers-{tag}"
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as folder:
        path = Path(folder) / f"{journey_id}.yaml"
        path.write_text(JOURNEY_YAML.format(journey_id=journey_id), encoding="utf-8")
        publish_files([path])
    with session_scope() as session:
        journey = session.get(Journey, journey_id)
        check(journey is not None and journey.latest_version_id is not None, "not published")
        assert journey is not None and journey.latest_version_id is not None
        return journey_id, journey.latest_version_id


def insert_timers(
    bare: Bare, journey: tuple[str, int], n: int, due: int, customers: int, now: datetime
) -> None:
    """``n`` enrollments in ``wait`` (keyed, so a customer holds several), one pending
    30-day timer each; ``due`` of them, picked at random, due within the last day, the
    others within the next 30 days."""
    rng = random.Random(SEED + 1)
    is_due = set(rng.sample(range(n), due))
    journey_id, version_id = journey
    entered = now - timedelta(days=30)
    for start in range(0, n, PAGE):
        stop = min(n, start + PAGE)
        ids = bare.new_ids("enrollments", stop - start)
        enrollments, timers = [], []
        for i, eid in zip(range(start, stop), ids, strict=True):
            cid = customer_id(i % customers)
            enrollments.append(
                (eid, journey_id, version_id, cid, f"k{i}", "wait", 1, "active", False, "{}",
                 entered, entered)
            )  # fmt: skip
            if i in is_due:
                due_at = now - timedelta(seconds=rng.uniform(0, 86_400))
            else:
                due_at = now + timedelta(seconds=rng.uniform(60, 30 * 86_400))
            timers.append((eid, 1, "after", "done", due_at, entered))
        with bare.transaction():
            bare.copy("enrollments", ENROLLMENT_COLUMNS, enrollments)
            bare.copy("timers", TIMER_COLUMNS, timers)


# ---------------------------------------------------------------- 1. maturity


@dataclass(slots=True)
class MaturityResult:
    policies: int
    events: int
    first: Figure
    second: Figure
    naive: Figure
    sql: Figure
    sql_after: Figure


def naive_scan(url: str, windows: Windows) -> list[tuple[str, str, str, date]]:
    """Every policy row by row (server-side cursor); for each in a window, one query
    for its event id. The (prefix, policy, customer, maturity) not stored yet."""
    found: list[tuple[str, str, str, date]] = []
    with psycopg.connect(url) as conn, conn.cursor(name="policies") as scan:
        scan.itersize = 2000
        scan.execute("SELECT policy_id, customer_id, status, maturity_date FROM policies")
        with conn.cursor() as probe:
            for policy_id, cid, status, maturity in scan:
                kind = windows.kind(status, maturity)
                if kind is None:
                    continue
                probe.execute(
                    "SELECT 1 FROM events WHERE event_id = %s",
                    (f"{kind}:{policy_id}:{maturity.isoformat()}",),
                )
                if probe.fetchone() is None:
                    found.append((kind, policy_id, cid, maturity))
    return found


BARE_DUE = """
SELECT p.policy_id, p.customer_id, p.maturity_date FROM policies p
WHERE p.status = 'active' AND p.maturity_date >= %(first)s AND p.maturity_date <= %(last)s
  AND NOT EXISTS (
      SELECT 1 FROM events e
      WHERE e.event_id = %(prefix)s || p.policy_id || ':' || CAST(p.maturity_date AS TEXT))
ORDER BY p.maturity_date, p.policy_id
"""


def bare_due(bare: Bare, windows: Windows) -> int:
    """The job's two range queries, bare: how many policies are due."""
    total = 0
    for prefix, (first, last) in (
        ("maturity:", windows.approaching),
        ("matured:", windows.matured),
    ):
        total += len(bare.rows(BARE_DUE, {"first": first, "last": last, "prefix": prefix}))
    return total


def stored_maturity_events(bare: Bare) -> dict[str, int]:
    rows = bare.rows(
        "SELECT type, count(*) FROM events WHERE type IN (%s, %s) GROUP BY type",
        (APPROACHING, MATURED),
    )
    counts = {APPROACHING: 0, MATURED: 0}
    counts.update({kind: int(n) for kind, n in rows})
    return counts


def maturity_phase(
    bare: Bare, url: str, now: datetime, size: int, customers: int
) -> MaturityResult:
    from automation.scheduler.jobs.maturity import run_maturity

    windows = Windows.at(now)
    print(
        f"maturity: {size:,} policies of {customers:,} customers, dates {SPAN_DAYS} days "
        f"around {windows.today} ({ACTIVE_SHARE:.0%} active); windows "
        f"{windows.approaching[0]}..{windows.approaching[1]} (approaching), "
        f"{windows.matured[0]}..{windows.matured[1]} (matured)"
    )
    _, expected = measure(
        "set-up: policies COPY",
        size,
        "rows",
        lambda: insert_policies(bare, size, customers, windows),
    )
    bare.analyze(("customers", "policies"))
    bare.settle()
    want = expected["maturity"] + expected["matured"]
    print(f"  due: {expected['maturity']:,} approaching, {expected['matured']:,} matured")

    naive, found = measure("baseline naive per-row scan", size, "policies",
                           lambda: naive_scan(url, windows))  # fmt: skip
    check(len(found) == want, f"naive scan found {len(found)} due, expected {want}")
    sql, due = measure("baseline bare SQL (2 range queries)", want, "due",
                       lambda: bare_due(bare, windows))  # fmt: skip
    check(due == want, f"bare SQL found {due} due, expected {want}")

    run_maturity(now - timedelta(days=20 * 365))  # warm-up: same queries, empty windows
    first, emitted = measure("engine run_maturity(), 1st", want, "events",
                             lambda: run_maturity(now))  # fmt: skip
    check(emitted == want, f"run_maturity emitted {emitted}, expected {want}")
    counts = stored_maturity_events(bare)
    check(
        counts[APPROACHING] == expected["maturity"] and counts[MATURED] == expected["matured"],
        f"stored {counts}, expected {expected}",
    )
    print(f"  checked: {counts[APPROACHING]:,} {APPROACHING}, {counts[MATURED]:,} {MATURED}")
    second, again = measure("engine run_maturity(), 2nd", size, "policies",
                            lambda: run_maturity(now))  # fmt: skip
    check(again == 0, f"the second run_maturity emitted {again}, expected 0")
    sql_after, left = measure("bare SQL after (all stored)", size, "policies",
                              lambda: bare_due(bare, windows))  # fmt: skip
    check(left == 0, f"bare SQL still finds {left} due")
    print(f"peak RSS after the maturity phase: {peak_rss_mib():.0f} MiB")
    return MaturityResult(size, emitted, first, second, naive, sql, sql_after)


# ---------------------------------------------------------------- 2. timers


@dataclass(slots=True)
class TimersResult:
    timers: int
    due: int
    engine: Figure
    second: Figure
    baseline: Figure


SELECT_DUE = """
SELECT t.id, e.customer_id, t.due_at, t.enrollment_id, t.step, t.kind FROM timers t
JOIN enrollments e ON e.id = t.enrollment_id
JOIN journeys j ON j.journey_id = e.journey_id
WHERE t.fired_at IS NULL AND t.due_at <= %s AND j.status = 'active'
ORDER BY t.due_at, t.id
"""


def baseline_timers(bare: Bare, now: datetime) -> int:
    """The job's row work, bare: select the due timers, then per 1000 one transaction
    that COPYs their ``timer_due`` events and sets ``fired_at``."""
    due = bare.rows(SELECT_DUE, (now,))
    for start in range(0, len(due), BATCH):
        part = due[start : start + BATCH]
        received = datetime.now(UTC)
        rows = (  # the properties the job writes (``catalog.timer_due``)
            (f"timer:{tid}", TIMER_DUE, due_at, received, cid,
             f'{{"timer_id": {tid}, "enrollment_id": {eid}, "step": {step}, "kind": "{kind}"}}',
             "scheduler", 0)
            for tid, cid, due_at, eid, step, kind in part
        )  # fmt: skip
        with bare.transaction():
            bare.copy("events", EVENT_COLUMNS, rows)
            bare.run(
                "UPDATE timers SET fired_at = %s WHERE id = ANY(%s)",
                (now, [row[0] for row in part]),
            )
    return len(due)


def check_fired(what: str, bare: Bare, now: datetime, due: int) -> None:
    events = bare.scalar("SELECT count(*) FROM events WHERE type = %s", (TIMER_DUE,))
    fired = bare.scalar("SELECT count(*) FROM timers WHERE fired_at IS NOT NULL")
    early = bare.scalar(
        "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL AND due_at > %s", (now,)
    )
    check(
        events == due and fired == due and early == 0,
        f"{what}: {events} {TIMER_DUE} events, {fired} fired timers ({early} not due), "
        f"expected {due}",
    )
    print(f"  checked: {events:,} {TIMER_DUE} events, {fired:,} timers fired, none early")


def timers_phase(
    bare: Bare, now: datetime, n: int, due: int, customers: int, tag: str
) -> TimersResult:
    from automation.scheduler.jobs.timers import fire_due_timers

    journey = publish_journey(tag)
    print(f"timers: {n:,} pending, {due:,} due at now, journey {journey[0]}")
    measure("set-up: enrollments + timers COPY", 2 * n, "rows",
            lambda: insert_timers(bare, journey, n, due, customers, now))  # fmt: skip
    bare.analyze(("enrollments", "timers", "events", "journeys"))
    bare.settle()

    fire_due_timers(now - timedelta(days=3650))  # warm-up: same query, nothing due
    engine, fired = measure("engine fire_due_timers()", due, "timers",
                            lambda: fire_due_timers(now))  # fmt: skip
    check(fired == due, f"fire_due_timers fired {fired}, expected {due}")
    check_fired("engine", bare, now, due)
    second, again = measure("engine fire_due_timers(), 2nd", 0, "timers",
                            lambda: fire_due_timers(now))  # fmt: skip
    check(again == 0, f"the second fire_due_timers fired {again}, expected 0")

    bare.run("DELETE FROM events WHERE type = %s", (TIMER_DUE,))
    bare.run("UPDATE timers SET fired_at = NULL WHERE fired_at IS NOT NULL")
    bare.run("VACUUM FULL ANALYZE events, timers")  # compact again, as before the engine ran
    bare.settle()
    print("  reset: timer_due events deleted, fired_at cleared, VACUUM FULL ANALYZE, CHECKPOINT")
    baseline, done = measure("baseline psycopg COPY + UPDATE", due, "timers",
                             lambda: baseline_timers(bare, now))  # fmt: skip
    check(done == due, f"baseline fired {done}, expected {due}")
    check_fired("baseline", bare, now, due)
    return TimersResult(n, due, engine, second, baseline)


# ---------------------------------------------------------------- report


def report(maturity: MaturityResult, timers: TimersResult) -> None:
    m, t = maturity, timers
    print(f"maturity ratio engine/naive (time): {m.first.seconds / m.naive.seconds:.3f}")
    print(f"maturity ratio engine/bare SQL (time): {m.first.seconds / m.sql.seconds:.1f}")
    verdict = "met" if m.first.seconds <= 2 else "NOT met"
    scale = "" if m.policies == 1_000_000 else f", at {m.policies:,} policies, not 1,000,000"
    print(f"target ≤ 2 s for the maturity scan: {verdict} ({m.first.seconds:.2f} s{scale})")
    print(f"timers ratio engine/baseline (time): {t.engine.seconds / t.baseline.seconds:.3f}")
    scaled = t.engine.seconds * 100_000 / t.due
    verdict = "met" if scaled <= 10 else "NOT met"
    linear = "" if t.due == 100_000 else " per 100,000 due if linear"
    print(f"target ≤ 10 s for 100,000 due timers: {verdict} ({scaled:.2f} s{linear})")


def summary(maturity: MaturityResult, timers: TimersResult, customers: int, rss: float) -> str:
    m, t = maturity, timers
    return json.dumps(
        {
            "bench": "scheduler",
            "size": m.policies,
            "database": "postgresql",
            "customers": customers,
            "maturity_seconds": round(m.first.seconds, 3),
            "maturity_events": m.events,
            "maturity_second_run_seconds": round(m.second.seconds, 3),
            "baseline_naive_seconds": round(m.naive.seconds, 3),
            "baseline_sql_seconds": round(m.sql.seconds, 3),
            "baseline_sql_after_seconds": round(m.sql_after.seconds, 3),
            "ratio": round(m.first.seconds / m.naive.seconds, 4),
            "sql_ratio": round(m.first.seconds / m.sql.seconds, 2),
            "timers": t.timers,
            "timers_due": t.due,
            "timers_seconds": round(t.engine.seconds, 3),
            "timers_per_s": round(t.engine.rate, 1),
            "timers_second_run_seconds": round(t.second.seconds, 3),
            "baseline_timers_seconds": round(t.baseline.seconds, 3),
            "timers_ratio": round(t.engine.seconds / t.baseline.seconds, 4),
            "peak_rss_mib": round(rss, 1),
        }
    )


def main() -> None:
    try:
        run(parse_args())
    except BenchError as exc:
        sys.exit(f"bench/scheduler.py: {exc}")


def run(args: argparse.Namespace) -> None:
    check(args.size > 0, "--size must be positive")
    check(args.timers > 0, "--timers must be positive")
    check(0 < args.due <= args.timers, "--due must be between 1 and --timers")
    customers = args.customers or max(1, max(args.size, args.timers) // 5)
    url = configure()
    from automation import clock

    now = datetime.now(UTC).replace(microsecond=0)
    print(f"{os.cpu_count()} cores; clock frozen at {now.isoformat()}; broker stub://")
    bare = Bare(url)
    try:
        with clock.frozen_at(now):
            measure("set-up: customers COPY", customers, "rows",
                    lambda: insert_customers(bare, customers, now))  # fmt: skip
            maturity = maturity_phase(bare, url, now, args.size, customers)
            timers = timers_phase(bare, now, args.timers, args.due, customers, secrets.token_hex(3))
    finally:
        bare.close()
    rss = peak_rss_mib()
    print(f"peak RSS of the bench process: {rss:.0f} MiB")
    report(maturity, timers)
    print(summary(maturity, timers, customers, rss))


if __name__ == "__main__":
    main()
