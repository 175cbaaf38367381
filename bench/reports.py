"""Report speed: the conversion funnel over N events beside a plain SQL query, and the
web-log report for a group of customers.

What is measured, in one run, on one synthetic insurer filled with ``COPY``:

1. funnel: ``automation.reports.funnel.funnel_report(Period.last())`` (the last 30 days)
   over ``--size`` events (default 10,000,000) spread over ``--days`` days (default
   365) up to now. Baseline, on the same period: the plain query a person would write,
   ``SELECT type, count(DISTINCT customer_id) FROM events WHERE occurred_at in the
   period GROUP BY type``, bare psycopg, with ``jit`` off and ``work_mem`` 64MB as
   ``funnel_report`` runs.
   Each is run once to warm up, then ``--repeat`` times alternately; the median is
   the figure. The target is ≤ 1 s.
2. web log: ``automation.reports.weblog.weblog_report`` for the seed's group
   (``customer.has_children: true``, ``customer.age`` 28–40) over the last days holding
   about ``--weblog-events`` events (default 1,000,000), beside a plain query counting
   the group's page views per customer over the same events.

The population: customers (one per 50 events) who joined over three years, 35% with a
first policy, 30% of those with a second one or a renewal; anonymous visitors (one per
25 events); visits of 1–12 events a few minutes apart (a few pauses of more than 30
minutes split them), landing pages with ``utm_source``/``banner``, log-ins, product
and content views, quote and consultation requests; sign-ups, purchases and renewals
at the customers' ladder times; e-mail events that are not web activity. Products
and content tags are the demo catalogue's. Events are written in time order, as a
live table grows.

Run::

    python bench/reports.py [--size N] [--days D] [--weblog-events N] [--repeat R]
    python bench/reports.py --reuse     # measure again what the last run filled
    python bench/reports.py --quick     # 100,000 events, 10,000 in the web log: CI

Without ``AUTOMATION_DATABASE_URL`` the bench drops and re-creates the PostgreSQL
database ``automation_bench_reports`` (admin ``postgresql://postgres@127.0.0.1:5432/test``),
or uses a temporary SQLite file when PostgreSQL is down (``executemany`` instead of
``COPY``). With it, that database is filled too (ids carry a fresh tag). The last line
printed is one JSON object with the figures; a report whose counts disagree with a
plain query exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
import psycopg
from _common import bench_db, parse_quick

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = bench_db("automation_bench_reports")
SEOUL = ZoneInfo("Asia/Seoul")
GROUP = {"customer.has_children": True, "customer.age": {"between": [28, 40]}}
TARGET_SECONDS = 1.0
QUICK = {"size": 100_000, "weblog_events": 10_000}  # --quick: CI
EVENTS_PER_CUSTOMER = 50
EVENTS_PER_ANONYMOUS = 25
COPY_CHUNK = 10_000
WEB_MIX = (  # (type, weight) of the pages after the landing page
    ("page_view", 50),
    ("product_view", 25),
    ("content_view", 20),
    ("quote_request", 3),
    ("consultation_request", 2),
)
UTM = ("portal-banner", "search", "newsletter", "kakao", "partner-blog")
BANNERS = ("naver-main", "daum-finance", "nate-news")
EVENT_COLUMNS = (
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "visitor_id",
    "customer_id",
    "properties",
    "source",
    "processed_at",
    "attempts",
)
CUSTOMER_COLUMNS = (
    "customer_id",
    "birth_date",
    "gender",
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
    "joined_at",
    "first_policy_at",
    "attributes",
    "created_at",
    "updated_at",
)
POLICY_COLUMNS = (
    *("policy_id", "customer_id", "product_code", "status", "start_date"),
    *("attributes", "updated_at"),
)
PRODUCT_COLUMNS = (
    *("product_code", "name", "category", "content_tags", "is_new", "md_pick"),
    *("attributes", "updated_at"),
)

T = TypeVar("T")
Row = tuple[Any, ...]


class BenchError(Exception):
    """A report disagreed with a plain query, or the set-up went wrong."""


def check(ok: bool, message: str) -> None:
    if not ok:
        raise BenchError(message)


# ---------------------------------------------------------------- where it runs


@dataclass(slots=True)
class Target:
    database_url: str
    database: str  # "postgresql" | "sqlite"
    tag: str  # prefixes every id, so a database that is not ours is only added to


def pg_reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def choose_database(reuse: bool) -> str:
    url = os.environ.get("AUTOMATION_DATABASE_URL")
    if url:
        print(f"database: {url} (from AUTOMATION_DATABASE_URL; rows are added to it)")
        return url
    if reuse:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"
        check(pg_reachable(url), f"--reuse: no database {BENCH_DB} to measure again")
        print(f"database: {url} (as an earlier run filled it)")
        return url
    if pg_reachable(PG_ADMIN_URL):
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"
        print(f"database: {url} (re-created by the bench)")
        return url
    path = Path(tempfile.mkdtemp(prefix="automation-bench-")) / "reports.db"
    print(f"database: sqlite:///{path} (PostgreSQL unreachable at {PG_ADMIN_URL})")
    return f"sqlite:///{path}"


def configure(reuse: bool) -> Target:
    """Choose the database, export the settings, migrate."""
    url = choose_database(reuse)
    os.environ["AUTOMATION_DATABASE_URL"] = url
    os.environ.setdefault("AUTOMATION_SECRET_KEY", "bench-" + secrets.token_hex(16))
    from automation.config import reset_settings
    from automation.db.migrate import upgrade

    reset_settings()
    upgrade("head", database_url=url)
    kind = "sqlite" if url.startswith("sqlite") else "postgresql"
    return Target(url, kind, secrets.token_hex(2))


class Bare:
    """A bare DB-API connection: psycopg 3 (``COPY``) or sqlite3 (``executemany``)."""

    def __init__(self, target: Target) -> None:
        self.pg = target.database == "postgresql"
        self.conn: Any
        if self.pg:
            url = target.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
            self.conn = psycopg.connect(url, autocommit=True)
            # The settings funnel_report runs with, so both queries stand on the same footing.
            self.conn.execute("SET jit = off")
            self.conn.execute("SET work_mem = '64MB'")
        else:
            path = target.database_url.split("sqlite:///", 1)[1]
            self.conn = sqlite3.connect(path, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")

    def close(self) -> None:
        self.conn.close()

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[Row]:
        sql = text if self.pg else text.replace("%s", "?")
        return list(self.conn.execute(sql, params).fetchall())

    def value(self, at: datetime | date) -> Any:
        """A time or date as a bare statement on this database takes it."""
        if self.pg:
            return at
        if isinstance(at, datetime):
            return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return at.isoformat()

    def load(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        """``COPY`` (PostgreSQL) or ``executemany`` (SQLite) in chunks; rows written."""
        names = ", ".join(columns)
        written = 0
        if self.pg:
            with (
                self.conn.cursor() as cur,
                cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
                    written += 1
            return written
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        chunk: list[Row] = []
        self.conn.execute("BEGIN")
        for row in rows:
            chunk.append(tuple(self.value(v) if isinstance(v, date) else v for v in row))
            if len(chunk) == COPY_CHUNK:
                self.conn.executemany(sql, chunk)
                written += len(chunk)
                chunk = []
        self.conn.executemany(sql, chunk)
        self.conn.execute("COMMIT")
        return written + len(chunk)

    def without_event_indexes(self) -> Any:
        """Drop the events indexes for the load and build them after (PostgreSQL)."""
        return _IndexesOff(self) if self.pg else _Nothing()

    def analyze(self) -> None:
        self.conn.execute("ANALYZE")


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _IndexesOff:
    """The migrated indexes of ``events`` (not its keys), dropped and built again."""

    def __init__(self, bare: Bare) -> None:
        self.bare = bare
        self.indexes = bare.rows(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )

    def __enter__(self) -> None:
        for name, _ in self.indexes:
            self.bare.conn.execute(f'DROP INDEX "{name}"')

    def __exit__(self, *exc: object) -> None:
        started = time.perf_counter()
        for _, ddl in self.indexes:
            self.bare.conn.execute(ddl)
        names = ", ".join(name for name, _ in self.indexes)
        print(f"indexes built again in {time.perf_counter() - started:.0f} s: {names}")


# ---------------------------------------------------------------- the synthetic insurer


@dataclass(slots=True)
class Person:
    customer_id: str
    visitor_id: str
    joined_at: datetime
    first_policy_at: datetime | None
    again_at: datetime | None  # second policy or renewal
    renews: bool
    has_children: bool
    birth_date: date


@dataclass(slots=True)
class World:
    """The customers, anonymous visitors and ladder events the events are drawn from."""

    start: datetime
    end: datetime
    people: list[Person]
    anonymous: list[str]
    ladder: dict[int, list[Row]] = field(default_factory=dict)  # day → ladder events

    @property
    def days(self) -> int:
        return max(1, round((self.end - self.start) / timedelta(days=1)))


def make_world(rng: random.Random, size: int, days: int, tag: str) -> World:
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    start = end - timedelta(days=days)
    people = [
        make_person(rng, f"{tag}C{i:07d}", f"{tag}v{i:07d}", end)
        for i in range(max(50, size // EVENTS_PER_CUSTOMER))
    ]
    anonymous = [f"{tag}a{i:07d}" for i in range(max(50, size // EVENTS_PER_ANONYMOUS))]
    world = World(start, end, people, anonymous)
    for p in people:
        for at, row in ladder_events(rng, p, tag):
            if start <= at < end:
                world.ladder.setdefault((at - start) // timedelta(days=1), []).append(row)
    return world


def make_person(rng: random.Random, customer_id: str, visitor_id: str, end: datetime) -> Person:
    joined = end - timedelta(seconds=rng.uniform(0, 3 * 365 * 86400))
    first = joined + timedelta(days=rng.uniform(1, 400)) if rng.random() < 0.35 else None
    first = first if first and first < end else None
    again = first + timedelta(days=rng.uniform(30, 300)) if first and rng.random() < 0.3 else None
    age = rng.randint(20, 70)
    return Person(
        customer_id,
        visitor_id,
        joined,
        first,
        again if again and again < end else None,
        rng.random() < 0.2,
        28 <= age <= 45 and rng.random() < 0.6,
        date(end.year - age, rng.randint(1, 12), rng.randint(1, 28)),
    )


def ladder_events(rng: random.Random, p: Person, tag: str) -> Iterator[tuple[datetime, Row]]:
    """Sign-up, purchases and renewal at the person's ladder times."""
    cid = p.customer_id
    yield p.joined_at, event_row(f"{cid}-s", "signup", p.joined_at, p.visitor_id, cid, {})
    if p.first_policy_at:
        props = {"policy_id": f"{cid}-P1", "product": product_of(p)}
        yield (
            p.first_policy_at,
            event_row(f"{cid}-b1", "policy_purchased", p.first_policy_at, None, cid, props),
        )
    if p.again_at and p.renews:
        renewed = {"policy_id": f"{cid}-P1"}
        yield p.again_at, event_row(f"{cid}-r", "policy_renewed", p.again_at, None, cid, renewed)
    elif p.again_at:
        props = {"policy_id": f"{cid}-P2", "product": rng.choice(PRODUCT_CODES)}
        yield p.again_at, event_row(f"{cid}-b2", "policy_purchased", p.again_at, None, cid, props)


def product_of(p: Person) -> str:
    return PRODUCT_CODES[int(p.customer_id[-7:]) % len(PRODUCT_CODES)]


def event_row(
    event_id: str,
    type_: str,
    at: datetime,
    visitor_id: str | None,
    customer_id: str | None,
    props: dict[str, Any],
) -> Row:
    return (
        event_id,
        type_,
        at,
        at,
        visitor_id,
        customer_id,
        orjson.dumps(props).decode(),
        "bench",
        at,
        1,
    )


def catalogue() -> list[tuple[str, str, str, list[str]]]:
    """The demo's products (``catalog.Product`` dataclasses) as plain rows."""
    from automation.demo.catalog import PRODUCTS

    return [(p.code, p.name, p.category, list(p.tags)) for p in PRODUCTS]


PRODUCT_CODES = [code for code, *_ in catalogue()]
CONTENT_OF = {code: tags for code, _, _, tags in catalogue()}


def events(rng: random.Random, world: World, size: int, tag: str) -> Iterator[Row]:
    """``size`` events in time order: visits, e-mail, and the ladder events of each day."""
    per_day = size / world.days
    written = 0
    for day in range(world.days):
        day_start = world.start + timedelta(days=day)
        todays = sorted(world.ladder.get(day, []), key=lambda r: r[2])
        budget = round(per_day * (day + 1)) - written - len(todays)
        rows = list(day_of_visits(rng, world, day_start, max(0, budget), f"{tag}d{day}"))
        rows.sort(key=lambda r: r[2])
        merged = sorted(rows + todays, key=lambda r: r[2])
        written += len(merged)
        yield from merged


def day_of_visits(
    rng: random.Random, world: World, day_start: datetime, budget: int, tag: str
) -> Iterator[Row]:
    n = 0
    while n < budget:
        at = day_start + timedelta(seconds=rng.uniform(0, 86_400))
        if rng.random() < 0.04:  # an e-mail opened: an event, not a visit
            p = rng.choice(world.people)
            yield event_row(f"{tag}-{n}", "email_opened", at, None, p.customer_id, {})
            n += 1
            continue
        pages = min(budget - n, 1 + int(rng.expovariate(1 / 3)))
        for row in visit(rng, world, at, pages, f"{tag}-{n}"):
            yield row
            n += 1


def visit(rng: random.Random, world: World, at: datetime, pages: int, key: str) -> Iterator[Row]:
    """One visit: a landing page, maybe a log-in, then pages a few minutes apart."""
    member = rng.random() < 0.55
    p = rng.choice(world.people) if member else None
    visitor = p.visitor_id if p else rng.choice(world.anonymous)
    customer = p.customer_id if p else None
    landing: dict[str, Any] = {"url": "/"}
    if rng.random() < 0.3:
        landing["utm_source"] = rng.choice(UTM)
    if rng.random() < 0.08:
        landing["banner"] = rng.choice(BANNERS)
    yield event_row(f"{key}-0", "page_view", at, visitor, customer, landing)
    for i in range(1, pages):
        # Mostly minutes apart; now and then a pause long enough to start a new visit.
        pause = rng.uniform(31 * 60, 90 * 60) if rng.random() < 0.05 else rng.uniform(5, 300)
        at += timedelta(seconds=pause)
        if i == 1 and member and rng.random() < 0.6:
            yield event_row(f"{key}-{i}", "login", at, visitor, customer, {})
            continue
        type_ = rng.choices([t for t, _ in WEB_MIX], [w for _, w in WEB_MIX])[0]
        yield event_row(f"{key}-{i}", type_, at, visitor, customer, page_props(rng, type_))


def page_props(rng: random.Random, type_: str) -> dict[str, Any]:
    code = rng.choice(PRODUCT_CODES)
    content = rng.choice(CONTENT_OF[code])
    if type_ == "product_view":
        return {"product": code, "url": f"/products/{code.lower()}"}
    if type_ == "content_view":
        return {"content": content, "url": f"/contents/{content}"}
    if type_ == "page_view":
        return {"url": f"/products/{code.lower()}", "product": code, "content": content}
    return {"product": code}


def customer_rows(world: World) -> Iterator[Row]:
    now = world.end
    for p in world.people:
        stage = "repeat" if p.again_at else "customer" if p.first_policy_at else "member"
        yield (
            p.customer_id,
            p.birth_date,
            "F" if int(p.customer_id[-7:]) % 2 else "M",
            p.has_children,
            *(False,) * 5,
            "ko-KR",
            "Asia/Seoul",
            stage,
            "regular",
            "active",
            p.joined_at,
            p.first_policy_at,
            "{}",
            now,
            now,
        )


def policy_rows(world: World) -> Iterator[Row]:
    for p in world.people:
        for n, at in ((1, p.first_policy_at), (2, None if p.renews else p.again_at)):
            if at is not None:
                start = at.astimezone(SEOUL).date()
                policy_id = f"{p.customer_id}-P{n}"
                yield (policy_id, p.customer_id, product_of(p), "active", start, "{}", world.end)


def product_rows(now: datetime) -> Iterator[Row]:
    from automation.demo.catalog import PRODUCTS

    for p in PRODUCTS:
        tags = orjson.dumps(list(p.tags)).decode()
        yield (p.code, p.name, p.category, tags, p.is_new, p.md_pick, "{}", now)


def fill(bare: Bare, target: Target, size: int, days: int) -> World:
    """The synthetic insurer and its ``size`` events."""
    rng = random.Random(7)
    world = make_world(rng, size, days, target.tag)
    started = time.perf_counter()
    if not bare.rows("SELECT 1 FROM products LIMIT 1"):
        bare.load("products", PRODUCT_COLUMNS, product_rows(world.end))
    bare.load("customers", CUSTOMER_COLUMNS, customer_rows(world))
    bare.load("policies", POLICY_COLUMNS, policy_rows(world))
    with bare.without_event_indexes():
        written = bare.load("events", EVENT_COLUMNS, events(rng, world, size, target.tag))
    bare.analyze()
    seconds = time.perf_counter() - started
    print(
        f"filled: {written:,} events over {world.days} days, {len(world.people):,} customers, "
        f"{len(world.anonymous):,} anonymous visitors in {seconds:.0f} s"
    )
    check(written == size, f"wrote {written} events, wanted {size}")
    return world


# ---------------------------------------------------------------- measuring


@dataclass(slots=True)
class Timing:
    name: str
    runs: list[float]

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)

    def line(self) -> str:
        each = ", ".join(f"{s:.3f}" for s in self.runs)
        return f"{self.name:<28} median {self.seconds:7.3f} s   (runs: {each})"


def alternate(
    repeat: int, work: dict[str, Callable[[], Any]]
) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Run every piece of ``work`` once to warm up, then ``repeat`` rounds in turn."""
    results = {name: job() for name, job in work.items()}
    timings = {name: Timing(name, []) for name in work}
    for _ in range(repeat):
        for name, job in work.items():
            started = time.perf_counter()
            results[name] = job()
            timings[name].runs.append(time.perf_counter() - started)
    for timing in timings.values():
        print(timing.line(), flush=True)
    return timings, results


def count_in(bare: Bare, period: Any, where: str = "", params: Sequence[Any] = ()) -> int:
    sql = "SELECT count(*) FROM events WHERE occurred_at >= %s AND occurred_at < %s" + where
    rows = bare.rows(sql, (bare.value(period.start_utc), bare.value(period.end_utc), *params))
    return int(rows[0][0])


BASELINE = (
    "SELECT type, count(DISTINCT customer_id) FROM events "
    "WHERE occurred_at >= %s AND occurred_at < %s GROUP BY type"
)


def funnel_phase(bare: Bare, repeat: int) -> dict[str, Any]:
    from automation.reports.funnel import ACTIVE_TYPES, funnel_report
    from automation.reports.period import Period

    period = Period.last()
    bounds = (bare.value(period.start_utc), bare.value(period.end_utc))
    in_period = count_in(bare, period)
    print(f"funnel period: {period.start} .. {period.end} ({in_period:,} events)")
    timings, results = alternate(
        repeat,
        {
            "baseline plain SQL": lambda: bare.rows(BASELINE, bounds),
            "funnel_report()": lambda: funnel_report(period),
        },
    )
    report = results["funnel_report()"]
    for rung in report.rungs:
        rate = "" if rung.rate is None else f"  rate {rung.rate:.3f}"
        moved = "-" if rung.moved_in is None else f"{rung.moved_in:,}"
        print(f"  {rung.name:<13} reached {rung.reached:>9,}  moved in {moved:>7}{rate}")
    marks = ", ".join(["%s"] * len(ACTIVE_TYPES))
    people = bare.rows(
        "SELECT count(*) FROM (SELECT DISTINCT customer_id, "
        "CASE WHEN customer_id IS NULL THEN visitor_id END FROM events "
        f"WHERE occurred_at >= %s AND occurred_at < %s AND type IN ({marks})) AS p",
        (*bounds, *ACTIVE_TYPES),
    )[0][0]
    check(
        report.rung("visitor").reached == people, f"funnel visitors {report.rungs[0]} != {people}"
    )
    funnel, baseline = timings["funnel_report()"].seconds, timings["baseline plain SQL"].seconds
    verdict = "meets" if funnel <= TARGET_SECONDS else "MISSES"
    print(
        f"funnel {funnel:.3f} s, baseline {baseline:.3f} s, ratio {funnel / baseline:.2f}: "
        f"{verdict} the target of {TARGET_SECONDS:.0f} s"
    )
    return {
        "period_events": in_period,
        "funnel_seconds": round(funnel, 4),
        "baseline_seconds": round(baseline, 4),
        "ratio": round(funnel / baseline, 4),
    }


def weblog_phase(bare: Bare, span: int, size: int, wanted: int, repeat: int) -> dict[str, Any]:
    from automation.conditions import years_before
    from automation.reports.period import Period
    from automation.reports.weblog import PAGE_TYPES, weblog_report

    days = min(span, max(1, round(span * wanted / size)))
    period = Period.last(days)
    in_period = count_in(bare, period)
    group_sql = (
        " AND customer_id IN (SELECT customer_id FROM customers WHERE has_children"
        " AND birth_date > %s AND birth_date <= %s)"
    )
    ages = (years_before(period.end, 41), years_before(period.end, 28))  # age 28 to 40
    marks = ", ".join(["%s"] * len(PAGE_TYPES))
    plain = (
        "SELECT customer_id, count(*) FROM events WHERE occurred_at >= %s AND occurred_at < %s"
        f" AND type IN ({marks})" + group_sql + " GROUP BY customer_id"
    )
    bounds = (bare.value(period.start_utc), bare.value(period.end_utc))
    params = (*bounds, *PAGE_TYPES, *map(bare.value, ages))
    print(f"web-log period: {period.start} .. {period.end} ({in_period:,} events)")
    print(f"web-log group: {json.dumps(GROUP)}")
    timings, results = alternate(
        repeat,
        {
            "baseline page views/customer": lambda: bare.rows(plain, params),
            "weblog_report(group)": lambda: weblog_report(period, GROUP),
        },
    )
    report = results["weblog_report(group)"]
    views = sum(int(n) for _, n in results["baseline page views/customer"])
    print(
        f"  {report.group_customers:,} customers in the group, {report.visitors:,} seen: "
        f"{report.page_views:,} page views, {report.visits:,} visits, "
        f"{report.page_views_per_visitor:.1f} page views and "
        f"{report.visits_per_week_per_visitor:.2f} visits a week per visitor"
    )
    check(report.page_views == views, f"weblog page views {report.page_views} != {views}")
    web = timings["weblog_report(group)"].seconds
    base = timings["baseline page views/customer"].seconds
    return {
        "weblog_period_events": in_period,
        "weblog_seconds": round(web, 4),
        "baseline_weblog_seconds": round(base, 4),
        "weblog_ratio": round(web / base, 4),
    }


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000_000, help="events in the table")
    parser.add_argument("--days", type=int, default=365, help="days the events span")
    parser.add_argument(
        "--weblog-events", type=int, default=1_000_000, help="events in the web-log period"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each query")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help=f"measure the database {BENCH_DB} an earlier run filled again (no filling)",
    )
    return parse_quick(parser, QUICK)


def run(args: argparse.Namespace) -> None:
    check(args.size > 0 and args.days > 0 and args.repeat > 0, "sizes must be positive")
    target = configure(args.reuse)
    bare = Bare(target)
    try:
        if args.reuse:
            size = int(bare.rows("SELECT count(*) FROM events")[0][0])
            print(f"events: {size:,} already there, {os.cpu_count()} cores")
        else:
            print(f"events: {args.size:,} over {args.days} days, {os.cpu_count()} cores")
            fill(bare, target, args.size, args.days)
            size = args.size
        figures = funnel_phase(bare, args.repeat)
        figures |= weblog_phase(bare, args.days, size, args.weblog_events, args.repeat)
    finally:
        bare.close()
    head = {"bench": "reports", "size": size, "database": target.database}
    print(json.dumps(head | figures))


def main() -> None:
    try:
        run(parse_args())
    except BenchError as exc:
        sys.exit(f"bench/reports.py: {exc}")


if __name__ == "__main__":
    main()
