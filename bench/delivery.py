"""Delivery throughput: e-mail (and SMS) messages/s through the full delivery path,
against bare clients pushing the same bytes to the same server.

Set-up (not timed): the bench's own PostgreSQL database, migrated; ``--size`` consenting
customers per channel (plus one actor batch for a warm-up); the shipped ``welcome``
journey and a one-SMS journey (shipped template ``product_reminder``) published; one
``signup`` / ``login`` per customer ingested and processed by
``automation.worker.process.process_events`` in chunks of 100, so the ``messages``
table holds the queued messages the engine made, and the stub broker the
``deliver_messages`` actor messages (20 ids each) processing enqueued.

Servers, each in its own process on loopback: an aiosmtpd server that counts each
``Message-ID`` and discards the mail, and a JSON SMS gateway (``channels/sms.py``'s
protocol) under uvicorn that counts each ``message_key``.

Per channel:

1. engine: ``automation.delivery.deliver.deliver_many`` over those actor batches, from
   ``--threads`` threads (a worker process's default, 4), ``AUTOMATION_SMTP_URL=
   smtp://127.0.0.1:PORT?pool=--pool``, broker ``stub://``; after one batch to warm
   up. SQL statements are counted with a ``before_cursor_execute`` listener on
   ``automation.db.get_engine()`` (and commits, pool check-outs, SQL time).
2. bare: the engine's own functions build the same payloads (each step timed: the
   context, render and MIME share), then, clock started, e-mail goes out over
   ``--pool`` aiosmtplib connections opened beforehand, SMS over one ``httpx.Client``
   from ``--threads`` threads.

Each server must have received every message exactly once (the ids' digest equals the
expected one). Run::

    python bench/delivery.py [--size N] [--threads T] [--pool P] [--no-sms]
    python bench/delivery.py --quick        # --size 200: a few seconds, for CI

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import aiosmtplib
import httpx
from _common import BenchError, Figure, PgBare, bench_db, check, own_pg_database
from _delivery_world import (
    EMAIL,
    SMS,
    Steps,
    drain_events_queue,
    email_payloads,
    expected_keys,
    insert_world,
    publish_journeys,
    queue_messages,
    sms_payloads,
)
from _sinks import Sink, digest
from _sqlcount import Sql, counting

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = bench_db("automation_bench_delivery")
TARGET_RATIO = 0.8
TARGET_STATEMENTS = 1.0


@dataclass(slots=True)
class Run:
    """One timed phase: the figure, the process's CPU seconds, and (engine) its SQL."""

    figure: Figure
    cpu: float
    sql: Sql | None = None

    def cpu_ms(self) -> float:
        return 1000 * self.cpu / max(self.figure.count, 1)


def timed(name: str, count: int, work: Callable[[], Any]) -> tuple[Run, Any]:
    cpu, started = time.process_time(), time.perf_counter()
    result = work()
    figure = Figure(name, count, "messages", time.perf_counter() - started)
    run = Run(figure, time.process_time() - cpu)
    print(f"{figure.line()}   cpu {run.cpu_ms():.2f} ms/message", flush=True)
    return run, result


def verify(sink: Sink, channel: str, ids: list[int], what: str) -> None:
    """The server got each of these messages exactly once."""
    got, n = sink.stats(), len(ids)
    check(
        got["received"] == n and got["distinct"] == n and got["duplicates"] == 0,
        f"{what}: the {sink.kind} server received {got}, wanted {n} distinct",
    )
    check(got["digest"] == digest(expected_keys(channel, ids)), f"{what}: other ids arrived")


def engine_phase(channel: str, batches: list[list[int]], sink: Sink, threads: int) -> Run:
    """``deliver_many`` over the actor batches from ``threads`` threads, warmed up."""
    from automation.delivery.deliver import deliver_many

    warm, work = batches[0], batches[1:]
    check(all(o.status == "sent" for o in deliver_many(warm)), f"{channel}: warm-up not sent")
    sink.stats()  # forget the warm-up
    ids = [i for batch in work for i in batch]

    def deliver_all() -> list[Any]:
        with ThreadPoolExecutor(threads, thread_name_prefix="actor") as pool:
            return [o for outcomes in pool.map(deliver_many, work) for o in outcomes]

    with counting() as sql:
        run, outcomes = timed(f"engine {channel} deliver_many", len(ids), deliver_all)
    run.sql = sql
    statuses = Counter(o.status for o in outcomes)
    check(statuses == Counter(sent=len(ids)), f"engine {channel}: outcomes {dict(statuses)}")
    verify(sink, channel, ids, f"engine {channel}")
    return run


async def push_smtp(
    port: int, mails: list[tuple[str, list[str], bytes]], pool: int, warm: int, sink: Sink
) -> Run:
    """Bare aiosmtplib: ``pool`` connections opened and the first ``warm`` mails sent
    (then forgotten by the sink), then the rest, timed."""
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(pool)]
    await asyncio.gather(*(c.connect() for c in clients))

    async def work(client: aiosmtplib.SMTP, todo: Iterator[Any]) -> None:
        for sender, recipients, data in todo:
            await client.sendmail(sender, recipients, data)

    warm_up = iter(mails[:warm])
    await asyncio.gather(*(work(c, warm_up) for c in clients))
    sink.stats()
    todo = iter(mails[warm:])
    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(work(c, todo) for c in clients))
    seconds = time.perf_counter() - started
    run = Run(Figure(f"bare aiosmtplib ×{pool}", len(mails) - warm, "messages", seconds), 0.0)
    run.cpu = time.process_time() - cpu
    print(f"{run.figure.line()}   cpu {run.cpu_ms():.2f} ms/message", flush=True)
    await asyncio.gather(*(c.quit() for c in clients))
    return run


def push_http(url: str, bodies: list[bytes], threads: int, warm: int, sink: Sink) -> Run:
    """Bare httpx: one client, ``threads`` threads; the first ``warm`` bodies posted
    (then forgotten by the sink), then the rest, timed."""
    headers = {"content-type": "application/json", "user-agent": "bench"}
    with httpx.Client(timeout=10, headers=headers) as client:

        def post(part: list[bytes]) -> int:
            return sum(client.post(url, content=body).status_code == 200 for body in part)

        def send_all(todo: list[bytes]) -> int:
            with ThreadPoolExecutor(threads) as pool:
                return sum(pool.map(post, [todo[i::threads] for i in range(threads)]))

        send_all(bodies[:warm])
        sink.stats()
        rest = bodies[warm:]
        run, ok = timed(f"bare httpx ×{threads} threads", len(rest), lambda: send_all(rest))
    check(ok == len(rest), f"bare SMS: {ok} of {len(rest)} answered 200")
    return run


def shares(steps: Steps, engine: Run) -> dict[str, float]:
    per_message = 1000 * engine.figure.seconds / engine.figure.count
    print(
        "  built by the engine's functions, one thread, per message: "
        + ", ".join(f"{name} {steps.ms(name):.3f} ms" for name in steps.seconds)
        + f"  (engine wall time per message: {per_message:.3f} ms)"
    )
    return {name: round(steps.ms(name), 4) for name in steps.seconds}


def report_sql(run: Run) -> dict[str, float]:
    sql, n = run.sql, run.figure.count
    assert sql is not None
    trips = sql.driver + 2 * sql.commits  # each transaction's BEGIN and COMMIT
    print(
        f"  SQL: {sql.total / n:.2f} statements/message ({sql.total:,}; listener), "
        f"{sql.commits / n:.2f} transactions, {sql.checkouts / n:.2f} pool check-outs "
        f"(each pings: pool_pre_ping); {sql.driver / n:.2f} psycopg executes, "
        f"≈ {trips / n:.1f} round trips/message with BEGIN/COMMIT; "
        f"{1000 * sql.seconds / n:.3f} ms/message in execute (summed over threads)"
    )
    for name, count in sql.statements.most_common(12):
        print(f"    {count / n:6.2f}/message  {name}")
    return {
        "statements_per_message": round(sql.total / n, 3),
        "transactions_per_message": round(sql.commits / n, 3),
        "checkouts_per_message": round(sql.checkouts / n, 3),
        "driver_executes_per_message": round(sql.driver / n, 3),
        "round_trips_per_message": round(trips / n, 3),
        "sql_ms_per_message": round(1000 * sql.seconds / n, 4),
    }


def email_channel(smtp: Sink, batches: list[list[int]], args: argparse.Namespace) -> dict[str, Any]:
    from automation.channels.smtp import get_sender

    engine = engine_phase(EMAIL, batches, smtp, args.threads)
    opened = getattr(get_sender(), "connections_opened", 0)
    sql = report_sql(engine)
    ids = [i for batch in batches for i in batch]
    mails, steps = email_payloads(ids)
    built = shares(steps, engine)
    warm = len(batches[0])
    bare = asyncio.run(push_smtp(smtp.port, mails, args.pool, warm, smtp))
    verify(smtp, EMAIL, ids[warm:], "bare e-mail")
    ratio = engine.figure.rate / bare.figure.rate
    render_mime = (steps.ms("render") + steps.ms("mime") + steps.ms("bytes")) / (
        1000 * engine.figure.seconds / engine.figure.count
    )
    print(
        f"e-mail: engine {engine.figure.rate:,.0f}/s, bare {bare.figure.rate:,.0f}/s, "
        f"ratio {ratio:.2f} (target ≥ {TARGET_RATIO}: "
        f"{'meets' if ratio >= TARGET_RATIO else 'MISSES'}); "
        f"{sql['statements_per_message']:.2f} statements/message (target ≤ "
        f"{TARGET_STATEMENTS:.0f}: "
        f"{'meets' if sql['statements_per_message'] <= TARGET_STATEMENTS else 'MISSES'}); "
        f"render+MIME ≈ {100 * render_mime:.0f}% of the engine's time per message; "
        f"{opened} SMTP connections opened",
        flush=True,
    )
    return {
        "email_rate": round(engine.figure.rate, 1),
        "email_raw_rate": round(bare.figure.rate, 1),
        "ratio": round(ratio, 4),
        **sql,
        "email_cpu_ms_per_message": round(engine.cpu_ms(), 4),
        "email_raw_cpu_ms_per_message": round(bare.cpu_ms(), 4),
        **{f"email_{name}_ms": value for name, value in built.items()},
        "render_mime_share": round(render_mime, 4),
        "smtp_connections_opened": opened,
    }


def sms_channel(
    gateway: Sink, batches: list[list[int]], args: argparse.Namespace
) -> dict[str, Any]:
    engine = engine_phase(SMS, batches, gateway, args.threads)
    sql = report_sql(engine)
    ids = [i for batch in batches for i in batch]
    bodies, steps = sms_payloads(ids)
    built = shares(steps, engine)
    warm = len(batches[0])
    bare = push_http(gateway.url, bodies, args.threads, warm, gateway)
    verify(gateway, SMS, ids[warm:], "bare SMS")
    ratio = engine.figure.rate / bare.figure.rate
    print(
        f"SMS: engine {engine.figure.rate:,.0f}/s, bare {bare.figure.rate:,.0f}/s, "
        f"ratio {ratio:.2f}; {sql['statements_per_message']:.2f} statements/message",
        flush=True,
    )
    return {
        "sms_rate": round(engine.figure.rate, 1),
        "sms_raw_rate": round(bare.figure.rate, 1),
        "sms_ratio": round(ratio, 4),
        **{f"sms_{key}": value for key, value in sql.items()},
        "sms_cpu_ms_per_message": round(engine.cpu_ms(), 4),
        "sms_raw_cpu_ms_per_message": round(bare.cpu_ms(), 4),
        **{f"sms_{name}_ms": value for name, value in built.items()},
    }


def set_up(url: str, n: int, channels: list[str]) -> dict[str, list[list[int]]]:
    """Customers, journeys, and the engine's queued messages per channel."""
    from automation.broker.enqueue import MESSAGE_CHUNK

    started = time.perf_counter()
    bare = PgBare(url)
    try:
        insert_world(bare, n + MESSAGE_CHUNK)
        publish_journeys()
        batches = {c: queue_messages(c, n + MESSAGE_CHUNK) for c in channels}
        drain_events_queue()
        bare.run("ANALYZE")
        bare.checkpoint()
    finally:
        bare.close()
    sizes = ", ".join(f"{len(b)} {c} batches" for c, b in batches.items())
    print(
        f"set-up: {n:,} (+{MESSAGE_CHUNK} warm-up) messages per channel, {sizes}, "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return batches


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2000, help="messages per channel")
    parser.add_argument("--quick", action="store_true", help="--size 200 (CI)")
    parser.add_argument("--threads", type=int, default=4, help="actor threads (worker: 4)")
    parser.add_argument("--pool", type=int, default=4, help="SMTP connections (?pool=)")
    parser.add_argument("--no-sms", action="store_true", help="e-mail only")
    args = parser.parse_args()
    if args.quick:
        args.size = 200
    check(args.size > 0 and args.threads > 0 and args.pool > 0, "sizes must be positive")
    return args


def run(args: argparse.Namespace) -> None:
    channels = [EMAIL] if args.no_sms else [EMAIL, SMS]
    smtp, gateway = Sink("smtp"), Sink("http")
    try:
        os.environ["AUTOMATION_SMTP_URL"] = f"{smtp.url}?pool={args.pool}"
        os.environ["AUTOMATION_SMS_URL"] = gateway.url
        url = own_pg_database(
            PG_ADMIN_URL,
            BENCH_DB,
            overridden="the bench counts every message in a database of its own",
            remedy="ANALYZE after set-up",
        )
        from automation.channels.sms import close_gateways
        from automation.channels.smtp import close_senders
        from automation.worker.gc import tune_gc

        threshold = tune_gc()
        print(
            f"SMTP sink 127.0.0.1:{smtp.port}, SMS gateway 127.0.0.1:{gateway.port} "
            f"(own processes); {args.threads} actor threads, SMTP pool {args.pool}, "
            f"gc threshold {threshold}, {os.cpu_count()} cores"
        )
        batches = set_up(url, args.size, channels)
        figures: dict[str, Any] = {"bench": "delivery", "size": args.size}
        try:
            figures |= email_channel(smtp, batches[EMAIL], args)
            if SMS in batches:
                figures |= sms_channel(gateway, batches[SMS], args)
        finally:
            close_senders()
            close_gateways()
    finally:
        smtp.stop()
        gateway.stop()
    figures |= {"threads": args.threads, "pool": args.pool, "gc_threshold": gc.get_threshold()[0]}
    figures |= {"target_ratio": TARGET_RATIO, "target_statements_per_message": TARGET_STATEMENTS}
    print(json.dumps(figures))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        run(parse_args())
    except BenchError as exc:
        sys.exit(f"bench/delivery.py: {exc}")


if __name__ == "__main__":
    main()
