"""Ingest throughput: events/s through the batch HTTP path, in process, and bare psycopg.

What is measured, in one run, on the same synthetic events (page views with url,
product, content and utm_source; product and content views; logins and sign-ups
carrying visitor_id and customer_id, so identity stitching happens; a few
policy purchases; about 20% anonymous events from returning visitors):

1. baseline: bare psycopg 3 writing the same rows to a bare copy of ``events``
   (primary key and unique ``event_id`` only), with ``COPY`` and ``executemany``,
   1000 rows a transaction. ``COPY`` is the figure the ratios use. On SQLite
   there is no COPY: the baseline is ``sqlite3`` ``executemany``.
2. in-process: ``automation.events.ingest.ingest(batch, source="bench")``, 1000 a batch,
   publishing to the broker.
3. HTTP: ``POST /v1/events`` with ``{"events": [...1000...]}`` against uvicorn
   (``--workers 2``) in a subprocess, several requests in flight, bodies
   serialised before the clock starts.

Every phase uses fresh ids and starts from empty tables (when the bench owns the
database) after a short warm-up.

Run::

    python bench/ingest.py [--size N]     # default 100000 events
    python bench/ingest.py --quick        # --size 20000, for CI

Settings come from the environment (``AUTOMATION_DATABASE_URL`` …). Without
``AUTOMATION_DATABASE_URL`` the bench (re)creates the PostgreSQL database
``automation_bench`` and uses it, or a temporary SQLite file when PostgreSQL is
down. The broker is Redis db 14 when Redis answers (flushed at start and end; no
worker consumes it), otherwise ``stub://``. The last line printed is one JSON
object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import psycopg
import redis
from _common import bench_db, parse_quick

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = bench_db("automation_bench")
REDIS_URL = "redis://127.0.0.1:6379/14"
BATCH = 1000
QUICK = {"size": 20_000}  # --quick: CI
MAX_RESENDS = 3
KST = timezone(timedelta(hours=9))
BARE_TABLE = "bench_events_bare"
BARE_COLUMNS = (
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "visitor_id",
    "customer_id",
    "properties",
    "source",
    "attempts",
)
PRODUCTS = (
    ("EDU-CARE", "education-children"),
    ("HEALTH-PLUS", "health-checkup"),
    ("ANNUITY-GOLD", "retirement-planning"),
    ("TERM-LIFE", "family-protection"),
    ("CANCER-CARE", "cancer-prevention"),
    ("DRIVE-SAFE", "safe-driving"),
)
UTM_SOURCES = ("portal-banner", "newsletter", "search", "kakao", "partner-blog")

Event = dict[str, Any]
T = TypeVar("T")


@dataclass(slots=True)
class Target:
    """Where the bench writes: the database URL, its kind, and whether the bench owns it."""

    database_url: str
    database: str  # "postgresql" | "sqlite"
    owned: bool
    broker_url: str


@dataclass(slots=True)
class Figure:
    """One timed phase."""

    name: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        rate = f"{self.rate:>10,.0f} events/s"
        return f"{self.name:<24} {self.events:>8} events {self.seconds:8.2f} s {rate}"


# ---------------------------------------------------------------- set-up


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="events per phase")
    parser.add_argument("--concurrency", type=int, default=4, help="HTTP requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    return parse_quick(parser, QUICK)


def pg_reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def recreate_pg_database(admin_url: str, name: str) -> str:
    """Drop and create ``name``; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def choose_database() -> tuple[str, bool]:
    """The database URL to use and whether the bench created it (and may empty it)."""
    url = os.environ.get("AUTOMATION_DATABASE_URL")
    if url:
        print(f"database: {url} (from AUTOMATION_DATABASE_URL; tables are not emptied)")
        return url, False
    if pg_reachable(PG_ADMIN_URL):
        url = recreate_pg_database(PG_ADMIN_URL, BENCH_DB)
        print(f"database: {url} (re-created by the bench)")
        return url, True
    path = Path(tempfile.mkdtemp(prefix="automation-bench-")) / "bench.db"
    url = f"sqlite:///{path}"
    print(f"database: {url} (PostgreSQL unreachable at {PG_ADMIN_URL}: temporary SQLite)")
    return url, True


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def choose_broker() -> str:
    url = os.environ.get("AUTOMATION_BROKER_URL")
    if url:
        print(f"broker: {url} (from AUTOMATION_BROKER_URL)")
        return url
    if redis_reachable(REDIS_URL):
        print(f"broker: {REDIS_URL} (real publishing, no worker consuming)")
        return REDIS_URL
    print("broker: stub:// (Redis unreachable; publish stays in the path)")
    return "stub://"


def flush_redis(broker_url: str) -> None:
    if broker_url == REDIS_URL:
        redis.Redis.from_url(broker_url).flushdb()


def configure() -> Target:
    """Choose database and broker, export the settings, migrate."""
    database_url, owned = choose_database()
    broker_url = choose_broker()
    os.environ["AUTOMATION_DATABASE_URL"] = database_url
    os.environ["AUTOMATION_BROKER_URL"] = broker_url
    os.environ.setdefault("AUTOMATION_SECRET_KEY", "bench-" + secrets.token_hex(16))
    from automation.config import reset_settings
    from automation.db.migrate import upgrade

    reset_settings()
    upgrade("head", database_url=database_url)
    if database_url.startswith("sqlite"):
        return Target(database_url, "sqlite", owned, broker_url)
    note_autovacuum(psycopg_url(database_url))
    return Target(database_url, "postgresql", owned, broker_url)


def note_autovacuum(url: str) -> None:
    """Say so when the server never analyzes tables: plans then run on default estimates."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
    if row and row[0] == "off":
        print("note: autovacuum is off on this server: new tables are never analyzed")


# ---------------------------------------------------------------- synthetic events


def browse_event(rng: random.Random) -> Event:
    """A page, product or content view (properties only; ids are added by the caller)."""
    product, content = rng.choice(PRODUCTS)
    roll = rng.random()
    if roll < 0.6:
        props: dict[str, Any] = {"url": f"/products/{product.lower()}"}
        if rng.random() < 0.5:
            props["product"] = product
        if rng.random() < 0.4:
            props["content"] = content
        if rng.random() < 0.3:
            props["utm_source"] = rng.choice(UTM_SOURCES)
        return {"type": "page_view", "properties": props}
    if roll < 0.8:
        return {
            "type": "product_view",
            "properties": {"product": product, "url": f"/products/{product.lower()}"},
        }
    return {
        "type": "content_view",
        "properties": {"content": content, "url": f"/contents/{content}"},
    }


def synthetic_events(size: int, seed: int = 7) -> list[Event]:
    """``size`` events without event_id; visitor and customer ids are short local names."""
    rng = random.Random(seed)
    start = datetime.now(KST).replace(microsecond=0) - timedelta(days=2)
    step = timedelta(days=1) / size  # the events span one day, ending a day ago
    visitors: list[str] = []
    member_of: dict[str, str] = {}
    events: list[Event] = []
    for i in range(size):
        ev = next_event(rng, i, visitors, member_of)
        ev["occurred_at"] = (start + i * step).isoformat(timespec="milliseconds")
        events.append(ev)
    return events


def next_event(rng: random.Random, i: int, visitors: list[str], member_of: dict[str, str]) -> Event:
    """One event of the mix; updates the known visitors and their customer links."""
    roll = rng.random()
    returning = len(visitors) - 2 * BATCH  # visitors[:returning] came in earlier batches
    if roll < 0.20 and returning > 0:
        ev = browse_event(rng)
        ev["visitor_id"] = visitors[rng.randrange(returning)]
        return ev
    if roll < 0.245 and visitors:  # login / sign-up: stitching
        visitor = rng.choice(visitors[-200:])
        customer = member_of.get(visitor) or f"c{i}"
        kind = "login" if visitor in member_of else rng.choice(("login", "signup"))
        member_of[visitor] = customer
        return {"type": kind, "visitor_id": visitor, "customer_id": customer, "properties": {}}
    if roll < 0.255 and member_of:
        visitor, customer = rng.choice(list(member_of.items())[-500:])
        product, _ = rng.choice(PRODUCTS)
        props = {
            "policy_id": f"p{i}",
            "product": product,
            "premium": rng.choice((30000, 52000, 110000)),
        }
        return {
            "type": "policy_purchased",
            "visitor_id": visitor,
            "customer_id": customer,
            "properties": props,
        }
    if rng.random() < 0.3 or not visitors:
        visitors.append(f"v{i}")
    visitor = rng.choice(visitors[-50:])  # a visitor of the current sessions
    ev = browse_event(rng)
    ev["visitor_id"] = visitor
    if visitor in member_of and rng.random() < 0.5:
        ev["customer_id"] = member_of[visitor]
    return ev


def stamp(template: list[Event], tag: str) -> list[Event]:
    """Copies of ``template`` with unique event ids and ids namespaced by ``tag``."""
    out: list[Event] = []
    for n, ev in enumerate(template):
        copy = dict(ev, event_id=f"{tag}-e{n}")
        if "visitor_id" in ev:
            copy["visitor_id"] = f"{tag}-{ev['visitor_id']}"
        if "customer_id" in ev:
            copy["customer_id"] = f"{tag}-{ev['customer_id']}"
        out.append(copy)
    return out


def batches(events: list[Event], size: int = BATCH) -> list[list[Event]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


# ---------------------------------------------------------------- database helpers


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def sqlite_path(url: str) -> str:
    return url.split("sqlite:///", 1)[1]


def empty_tables(target: Target) -> None:
    """Empty what ingest writes, so each phase starts alike (only on the bench's own database)."""
    if not target.owned:
        return
    if target.database == "postgresql":
        with psycopg.connect(psycopg_url(target.database_url)) as conn:
            conn.execute("TRUNCATE events, identities, customers RESTART IDENTITY CASCADE")
        return
    with sqlite3.connect(sqlite_path(target.database_url)) as conn:
        for table in ("events", "identities", "customers"):
            conn.execute(f"DELETE FROM {table}")


def count_events(target: Target, prefix: str) -> int:
    """Stored events whose event_id starts with ``prefix``."""
    sql = "SELECT count(*) FROM events WHERE event_id LIKE "
    if target.database == "postgresql":
        with psycopg.connect(psycopg_url(target.database_url)) as conn:
            row = conn.execute(sql + "%s", (prefix + "%",)).fetchone()
    else:
        with sqlite3.connect(sqlite_path(target.database_url)) as conn:
            row = conn.execute(sql + "?", (prefix + "%",)).fetchone()
    return int(row[0]) if row else 0


def measure(name: str, events: int, work: Callable[[], T]) -> tuple[Figure, T]:
    """Time ``work()``, print the figure, return it with what ``work`` returned."""
    started = time.perf_counter()
    result = work()
    figure = Figure(name, events, time.perf_counter() - started)
    print(figure.line(), flush=True)
    return figure, result


# ---------------------------------------------------------------- 1. baseline


def bare_rows(events: list[Event]) -> list[tuple[Any, ...]]:
    """What a bare writer sends: strings for times and JSON, the server parses them."""
    received = datetime.now(UTC).isoformat()
    return [
        (
            ev["event_id"],
            ev["type"],
            ev["occurred_at"],
            received,
            ev.get("visitor_id"),
            ev.get("customer_id"),
            orjson.dumps(ev["properties"]).decode(),
            "bench",
            0,
        )
        for ev in events
    ]


PG_BARE_DDL = f"""
CREATE TABLE {BARE_TABLE} (
    id BIGSERIAL PRIMARY KEY, event_id VARCHAR(200) NOT NULL UNIQUE, type VARCHAR(64) NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL, received_at TIMESTAMPTZ NOT NULL, visitor_id VARCHAR(128),
    customer_id VARCHAR(64), properties JSONB NOT NULL, source VARCHAR(32) NOT NULL,
    published_at TIMESTAMPTZ, processed_at TIMESTAMPTZ, attempts INTEGER NOT NULL,
    last_error VARCHAR(2000))
"""
SQLITE_BARE_DDL = PG_BARE_DDL.replace("BIGSERIAL", "INTEGER").replace("JSONB", "JSON")
COLUMN_LIST = ", ".join(BARE_COLUMNS)


def pg_copy(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
    with (
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy(f"COPY {BARE_TABLE} ({COLUMN_LIST}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def pg_executemany(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join(["%s"] * len(BARE_COLUMNS))
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {BARE_TABLE} ({COLUMN_LIST}) VALUES ({marks})", rows)


def write_all(
    conn: Any, write: Callable[[Any, list[tuple[Any, ...]]], None], events: list[Event]
) -> None:
    """``write`` every batch of ``events`` as bare rows (row building is timed too)."""
    for batch in batches(events):
        write(conn, bare_rows(batch))


def run_pg_bare(
    url: str,
    name: str,
    write: Callable[[psycopg.Connection[Any], list[tuple[Any, ...]]], None],
    warm: list[Event],
    events: list[Event],
) -> Figure:
    """Warm up, empty the bare table, then time ``write`` over every batch."""
    with psycopg.connect(url, autocommit=True) as conn:
        write(conn, bare_rows(warm))
        conn.execute(f"TRUNCATE {BARE_TABLE}")
        figure, _ = measure(name, len(events), lambda: write_all(conn, write, events))
        stored = conn.execute(f"SELECT count(*) FROM {BARE_TABLE}").fetchone()
        conn.execute(f"TRUNCATE {BARE_TABLE}")
    check(stored is not None and stored[0] == len(events), f"{name}: stored {stored} rows")
    return figure


def sqlite_executemany(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join(["?"] * len(BARE_COLUMNS))
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO {BARE_TABLE} ({COLUMN_LIST}) VALUES ({marks})", rows)
    conn.execute("COMMIT")


def run_sqlite_bare(path: str, warm: list[Event], events: list[Event]) -> Figure:
    """The SQLite baseline: ``sqlite3`` executemany, WAL as the engine sets it up."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        sqlite_executemany(conn, bare_rows(warm))
        conn.execute(f"DELETE FROM {BARE_TABLE}")
        figure, _ = measure(
            "baseline executemany",
            len(events),
            lambda: write_all(conn, sqlite_executemany, events),
        )
        stored = conn.execute(f"SELECT count(*) FROM {BARE_TABLE}").fetchone()
        conn.execute(f"DROP TABLE {BARE_TABLE}")
    check(stored is not None and stored[0] == len(events), f"baseline: stored {stored} rows")
    return figure


def baseline(target: Target, template: list[Event]) -> tuple[Figure | None, Figure]:
    """(COPY, executemany) into a bare table; no COPY on SQLite."""
    warm = stamp(template[:BATCH], "bwarm")
    if target.database == "sqlite":
        path = sqlite_path(target.database_url)
        with sqlite3.connect(path) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
            conn.execute(SQLITE_BARE_DDL)
        return None, run_sqlite_bare(path, warm, stamp(template, "bmany"))
    url = psycopg_url(target.database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
        conn.execute(PG_BARE_DDL)
    try:
        copy = run_pg_bare(url, "baseline COPY", pg_copy, warm, stamp(template, "bcopy"))
        many = run_pg_bare(
            url, "baseline executemany", pg_executemany, warm, stamp(template, "bmany")
        )
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
    return copy, many


# ---------------------------------------------------------------- 2. in process


def ingest_all(events: list[Event]) -> int:
    """Ingest in batches; the number accepted."""
    from automation.events.ingest import ingest

    return sum(ingest(batch, source="bench").count("accepted") for batch in batches(events))


def in_process(target: Target, template: list[Event], tag: str) -> Figure:
    ingest_all(stamp(template[:BATCH], f"{tag}warm"))
    empty_tables(target)
    events = stamp(template, tag)
    figure, accepted = measure("in-process ingest()", len(events), lambda: ingest_all(events))
    check(accepted == len(events), f"in-process: {accepted} of {len(events)} accepted")
    check(count_events(target, tag + "-") == len(events), "in-process: stored count differs")
    return figure


# ---------------------------------------------------------------- 3. HTTP


def report_resends(when: str, tally: Tally) -> None:
    if tally.retried:
        statuses = ", ".join(
            f"{n} x {f'HTTP {status}' if status else 'connection error'}"
            for status, n in sorted(tally.retried.items())
        )
        print(f"WARNING: HTTP {when}: batches re-sent after {statuses} (see the server log)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn serving the app factory; the settings travel in the environment."""
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "automation.api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ))


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check(server.poll() is None, f"uvicorn exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise BenchError(f"uvicorn did not answer /healthz within {timeout:.0f} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@dataclass(slots=True)
class Tally:
    """What the server answered over a run of batches."""

    accepted: int = 0
    retried: dict[int, int] = field(default_factory=dict)  # status (0: no answer) → re-sends


async def post_all(base: str, key: str, bodies: list[bytes], concurrency: int) -> Tally:
    """POST every body with ``concurrency`` requests in flight."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    tally = Tally()
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120
    ) as client:
        await asyncio.gather(*(post_worker(client, queue, tally) for _ in range(concurrency)))
    return tally


async def post_worker(client: httpx.AsyncClient, queue: asyncio.Queue[bytes], tally: Tally) -> None:
    while not queue.empty():
        await post_batch(client, queue.get_nowait(), tally)


async def post_batch(client: httpx.AsyncClient, body: bytes, tally: Tally) -> None:
    """POST one batch; a 5xx is re-sent (the API says resending is safe), and counted."""
    status, text = 0, ""
    for _ in range(MAX_RESENDS + 1):
        try:
            response = await client.post("/v1/events", content=body)
        except httpx.TransportError as exc:
            status, text = 0, f"{type(exc).__name__}: {exc}"
        else:
            status, text = response.status_code, response.text
            if status < 500:
                break
        tally.retried[status] = tally.retried.get(status, 0) + 1
    check(status == 202, f"HTTP {status or 'connection error'}: {text[:300]}")
    tally.accepted += int(orjson.loads(text)["accepted"])


def bodies_of(events: list[Event]) -> list[bytes]:
    return [orjson.dumps({"events": batch}) for batch in batches(events)]


@contextmanager
def serving(workers: int) -> Iterator[str]:
    """uvicorn up and healthy for the block; yields its base URL, then stops it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, workers)
    try:
        wait_healthy(base, server)
        yield base
    finally:
        stop_server(server)


def post_timed(base: str, key: str, events: list[Event], concurrency: int) -> tuple[Figure, Tally]:
    bodies = bodies_of(events)  # serialised before the clock starts
    return measure(
        f"HTTP batch x{concurrency}",
        len(events),
        lambda: asyncio.run(post_all(base, key, bodies, concurrency)),
    )


def http_path(
    target: Target, template: list[Event], tag: str, concurrency: int, workers: int
) -> Figure:
    from automation.api.keys import create_key

    # The stream mixes the site's behaviour with the core systems' purchases, which an
    # ingest key may not send: a system key may send both.
    key = create_key("system", name=f"bench-{tag}")
    events = stamp(template, tag)
    with serving(workers) as base:
        warm = bodies_of(stamp(template[: BATCH * concurrency], f"{tag}warm"))
        report_resends("warm-up", asyncio.run(post_all(base, key, warm, concurrency)))
        empty_tables(target)
        figure, tally = post_timed(base, key, events, concurrency)
    report_resends("timed run", tally)
    check(tally.accepted == len(events), f"HTTP: {tally.accepted} of {len(events)} accepted")
    check(count_events(target, tag + "-") == len(events), "HTTP: stored count differs")
    return figure


# ---------------------------------------------------------------- report


class BenchError(Exception):
    """A phase did not do what it should (wrong status, lost events…)."""


def check(ok: bool, message: str) -> None:
    if not ok:
        raise BenchError(message)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def summary(
    size: int, database: str, http: Figure, inproc: Figure, copy: Figure | None, many: Figure
) -> str:
    base = copy or many
    return json.dumps(
        {
            "bench": "ingest",
            "size": size,
            "database": database,
            "http_events_per_s": round(http.rate, 1),
            "inprocess_events_per_s": round(inproc.rate, 1),
            "baseline_copy_events_per_s": round(copy.rate, 1) if copy else None,
            "baseline_executemany_events_per_s": round(many.rate, 1),
            "baseline_events_per_s": round(base.rate, 1),
            "ratio": round(http.rate / base.rate, 4),
            "inprocess_ratio": round(inproc.rate / base.rate, 4),
        }
    )


def main() -> None:
    try:
        run(parse_args())
    except BenchError as exc:
        sys.exit(f"bench/ingest.py: {exc}")


def run(args: argparse.Namespace) -> None:
    check(args.size > 0, "--size must be positive")
    target = configure()
    flush_redis(target.broker_url)
    tag = secrets.token_hex(3)  # fresh ids even on a database that is not emptied
    try:
        template = synthetic_events(args.size)
        print(f"events: {args.size} per phase, batches of {BATCH}, {os.cpu_count()} cores")
        copy, many = baseline(target, template)
        inproc = in_process(target, template, f"{tag}i")
        http = http_path(target, template, f"{tag}h", args.concurrency, args.workers)
        print(f"peak RSS of the bench process: {peak_rss_mb():.0f} MiB")
    finally:
        flush_redis(target.broker_url)
    print(summary(args.size, target.database, http, inproc, copy, many))


if __name__ == "__main__":
    main()
