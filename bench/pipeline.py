"""The pipeline end to end, in production mode: sign-ups and page views posted over HTTP
at a fixed rate → ``automation serve`` → broker → ``automation worker`` → welcome mails
at an SMTP server.

What runs, all started (and stopped) by the bench:

- its own PostgreSQL database ``automation_bench_pipeline_<pid>`` (+ ``BENCH_DB_SUFFIX``;
  created, migrated, dropped at the end unless ``--keep``; admin
  ``postgresql://postgres@127.0.0.1:5432/test``; ``AUTOMATION_DATABASE_URL`` is
  overridden); the shipped journeys and segments published (``automation journeys
  publish --builtin``, ``segments publish --builtin``), the customers who will sign up
  imported with e-mail and advertising consent (``automation import customers``), an
  ingest key (``automation keys create``);
- its own broker: a ``redis-server`` on a free port (``--broker redis``), or a virtual
  host of its own on the machine's RabbitMQ (``--broker rabbitmq``, 127.0.0.1:5672);
- the counting SMTP server of ``bench/_sinks.py`` in its own process, which notes each
  mail's ``Message-ID`` and arrival time;
- ``automation serve`` (API, relay, scheduler) and, per ``--processes`` value,
  ``automation worker --processes P``, configured only by their environment
  (``AUTOMATION_DATABASE_URL``, ``BROKER_URL``, ``SMTP_URL``, ``SECRET_KEY``, https
  ``PUBLIC_URL`` and ``SITE_URL``).

Per worker count: a warm-up (``--warmup`` s of load, drained), then ``--rate`` events/s
for ``--seconds`` s, ``--per-post`` events a POST, open loop; then the bench waits until
every event is processed and every sign-up's welcome mail has arrived (lag: from the
sign-up's POST to its mail's arrival, matched by ``Message-ID``). Baseline, at the
end with no worker running: the same server and the same POSTs as fast as it answers
(closed loop, 4 in flight). ``ratio`` = events/s processed end to end (best worker
count) ÷ that plain ingest rate. Run::

    python bench/pipeline.py                 # 500 events/s for 20 s, 1 then 2 processes
    python bench/pipeline.py --quick         # 5 s each: under a minute
    python bench/pipeline.py --broker rabbitmq --processes 2 --rate 300

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from _common import BenchError, PgBare, bench_db, check, own_pg_database, parse_quick
from _pipeline_load import Load, Mix, closed, offered
from _pipeline_measure import (
    TARGET_LAG_P99,
    TARGET_RATE,
    Figures,
    drain,
    figures,
    judged,
    percentile,
    pg_backends,
    report,
    summary,
    verdict,
)
from _pipeline_procs import (
    CpuMeter,
    Engine,
    OwnRedis,
    OwnVhost,
    children,
    free_port,
    named,
    stop_process,
    wait_serving,
    wait_workers,
)
from _sinks import Sink

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = "automation_bench_pipeline"  # + the bench's pid: two runs never share one
BASELINE_INFLIGHT = 4
SET_BY_BENCH = (
    *("AUTOMATION_DATABASE_URL", "AUTOMATION_BROKER_URL", "AUTOMATION_SMTP_URL"),
    *("AUTOMATION_SECRET_KEY", "AUTOMATION_PUBLIC_URL", "AUTOMATION_SITE_URL", "AUTOMATION_NOW"),
)


class Bench:
    """The bench's processes and connections; everything it starts is on ``stack``."""

    def __init__(self, args: argparse.Namespace, stack: ExitStack, logs: Path) -> None:
        self.args = args
        self.stack = stack
        inherited = {k: v for k, v in os.environ.items() if k.startswith("AUTOMATION_")}
        self.logs = logs
        self.sink = Sink("smtp")
        stack.callback(self.sink.stop)
        self.broker: OwnRedis | OwnVhost = OwnRedis() if args.broker == "redis" else OwnVhost()
        stack.callback(self.broker.close)
        self.database = bench_db(f"{BENCH_DB}_{os.getpid()}")  # + BENCH_DB_SUFFIX
        if not args.keep:
            stack.callback(drop_database, self.database)  # last: after every process
        url = own_pg_database(
            PG_ADMIN_URL,
            self.database,
            overridden="the bench counts events and mails in a database of its own",
            remedy="nothing more: the run's tables are small",
        )
        self.bare = PgBare(url)
        stack.callback(self.bare.close)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOMATION_")}
        passed = {k: v for k, v in inherited.items() if k not in SET_BY_BENCH}
        if passed:
            print(f"note: passed on to the engine's processes: {', '.join(sorted(passed))}")
        self.env = env | passed
        self.env |= {
            "AUTOMATION_DATABASE_URL": url,
            "AUTOMATION_BROKER_URL": self.broker.url,
            "AUTOMATION_SMTP_URL": f"{self.sink.url}?pool={args.smtp_pool}",
            "AUTOMATION_SECRET_KEY": os.environ["AUTOMATION_SECRET_KEY"],
            "AUTOMATION_PUBLIC_URL": "https://crm.bench.example.com",
            "AUTOMATION_SITE_URL": "https://www.bench.example.com",
        }
        self.engine = Engine(self.env, self.logs)
        stack.callback(self.engine.close)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.key = ""

    def set_up(self, customers: list[str]) -> None:
        """Journeys, segments, the customers who will sign up, an ingest key."""
        started = time.perf_counter()
        self.engine.run("journeys", "publish", "--builtin")
        self.engine.run("segments", "publish", "--builtin")
        csv = self.logs / "customers.csv"
        lines = ["customer_id,name,email,email_consent,ad_consent,consent_at"]
        at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        lines += [
            f"{c},벤치 {c[-4:]},{c.lower()}@bench.example.kr,true,true,{at}" for c in customers
        ]
        csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.engine.run("import", "customers", str(csv))
        self.key = self.engine.run("keys", "create", "ingest", "--name", "bench").splitlines()[-1]
        self.bare.run("ANALYZE")
        print(
            f"set-up: shipped journeys and segments published, {len(customers):,} customers "
            f"imported, an ingest key, in {time.perf_counter() - started:.1f} s"
        )

    def serve(self) -> None:
        proc = self.engine.start("bench-serve", "serve", "serve", "--port", str(self.port))
        self.stack.callback(stop_process, proc)
        self.serve_proc = proc
        wait_serving(self.base, proc)

    def meter(self, worker: int) -> CpuMeter:
        """CPU per component: what the bench started, and the database's backends."""
        components = {
            "serve": lambda: [self.serve_proc.pid],
            "workers": lambda: [worker, *children(worker)],
            "PostgreSQL for serve": lambda: pg_backends(self.bare, self.database, "bench-serve"),
            "PostgreSQL for workers": lambda: pg_backends(self.bare, self.database, "bench-worker"),
            "SMTP sink": lambda: [self.sink.proc.pid],
            "load generator": lambda: [os.getpid()],
        }
        if isinstance(self.broker, OwnRedis):
            redis_pid = self.broker.proc.pid
            components["redis-server"] = lambda: [redis_pid]
        else:  # the machine's RabbitMQ: other vhosts' traffic counts here too
            components["RabbitMQ (shared)"] = lambda: named("beam.smp")
        return CpuMeter(components)

    def load(self, mix: Mix, seconds: float) -> Load:
        a = self.args
        return asyncio.run(
            offered(self.base, self.key, mix, a.rate, seconds, a.per_post, a.inflight)
        )

    def phase(self, processes: int, customers: tuple[list[str], list[str]]) -> Figures:
        """One worker count: start the workers, warm up, load, drain, measure, stop."""
        a = self.args
        log = f"worker-{processes}"
        worker = self.engine.start("bench-worker", log, "worker", "--processes", str(processes))
        self.stack.callback(stop_process, worker)  # now at the end, or when the bench stops
        wait_workers(worker, self.logs / f"{log}.log", processes)
        tag = f"p{processes}"
        warm = self.load(Mix(f"{tag}w", customers[0], a.signup_share, seed=processes), a.warmup)
        drain(self.bare, self.sink, f"{tag}w", warm, a.drain_timeout)
        self.bare.run("ANALYZE")  # as autovacuum would have by now (it may be off)
        meter = self.meter(worker.pid)
        meter.start()
        cpu_started = time.monotonic()
        load = self.load(Mix(tag, customers[1], a.signup_share, seed=10 + processes), a.seconds)
        print(
            f"processes {processes}: posted {load.events:,} events ({len(load.signup_at):,} "
            f"sign-ups) in {load.seconds:.1f} s, {a.per_post} a POST; POSTs answered in "
            f"p99 {1000 * percentile(load.answer_seconds, 99):.0f} ms, left late by p99 "
            f"{1000 * percentile(load.late, 99):.0f} ms"
            + (f"; re-sent {dict(load.resent)}" if load.resent else ""),
            flush=True,
        )
        drained = drain(self.bare, self.sink, tag, load, a.drain_timeout)
        cpu = meter.stop()
        wall = time.monotonic() - cpu_started
        stop_process(worker)
        result = figures(load, drained)
        report(a.rate, load, result, cpu, wall)
        return result

    def baseline(self) -> Load:
        """The same server and POSTs, no worker, as fast as it answers."""
        a = self.args
        total = max(1, round(a.rate * a.seconds))
        customers = [f"X{i:07d}" for i in range(math.ceil(total * a.signup_share) + 1)]
        mix = Mix("base", customers, a.signup_share, seed=99)
        load = asyncio.run(closed(self.base, self.key, mix, total, a.per_post, BASELINE_INFLIGHT))
        stored = self.bare.scalar("SELECT count(*) FROM events WHERE event_id LIKE 'base-%%'")
        check(stored == total, f"baseline: {stored} of {total} events stored")
        print(
            f"baseline: plain POST /v1/events to the same server, no worker, "
            f"{BASELINE_INFLIGHT} in flight, {a.per_post} a POST: {total:,} events in "
            f"{load.seconds:.1f} s = {load.accepted_rate:,.0f} events/s accepted",
            flush=True,
        )
        return load


def drop_database(name: str) -> None:
    """``DROP DATABASE … WITH (FORCE)``: the run's own, once its processes are gone."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def customers_for(args: argparse.Namespace) -> dict[int, tuple[list[str], list[str]]]:
    """Per worker count, the customers of its warm-up and of its timed run."""

    def ids(prefix: str, seconds: float) -> list[str]:
        n = math.ceil(args.rate * seconds * args.signup_share) + 1
        return [f"{prefix}{i:06d}" for i in range(n)]

    return {p: (ids(f"P{p}W", args.warmup), ids(f"P{p}T", args.seconds)) for p in args.processes}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="events/s offered")
    parser.add_argument("--seconds", type=float, default=20.0, help="load duration per run")
    parser.add_argument("--processes", default="1,2", help="worker processes, one run each")
    parser.add_argument("--broker", choices=("redis", "rabbitmq"), default="redis")
    parser.add_argument("--per-post", type=int, default=10, help="events per POST")
    parser.add_argument("--inflight", type=int, default=32, help="POSTs in flight at most")
    parser.add_argument("--signup-share", type=float, default=0.05, help="sign-ups/events")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load first")
    parser.add_argument("--smtp-pool", type=int, default=4, help="SMTP connections (?pool=)")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds")
    parser.add_argument("--size", type=int, help="events per run: --seconds = size / rate")
    parser.add_argument("--keep", action="store_true", help="keep the logs and the database")
    args = parse_quick(parser, {"seconds": 5.0, "warmup": 1.0})
    if args.size:
        args.seconds = args.size / args.rate
    try:
        args.processes = sorted({int(p) for p in str(args.processes).split(",")})
    except ValueError:
        parser.error("--processes: numbers separated by commas, such as 1,2")
    if min(args.processes) < 1:
        parser.error("--processes must be positive")
    if min(args.rate, args.seconds, args.per_post, args.inflight, args.smtp_pool) <= 0:
        parser.error("--rate, --seconds, --per-post, --inflight, --smtp-pool must be positive")
    if not 0 < args.signup_share <= 1:
        parser.error("--signup-share is in (0, 1]")
    return args


def run(args: argparse.Namespace, stack: ExitStack, logs: Path) -> dict[str, Any]:
    bench = Bench(args, stack, logs)
    print(
        f"database {bench.database}, broker {args.broker} ({bench.broker.url}), SMTP sink "
        f"127.0.0.1:{bench.sink.port}, logs {bench.logs}, {os.cpu_count()} cores; offered "
        f"{args.rate:g} events/s for {args.seconds:g} s, {args.signup_share:.0%} sign-ups, "
        f"{args.per_post} a POST, ≤ {args.inflight} in flight",
        flush=True,
    )
    plan = customers_for(args)
    bench.set_up([c for warm, timed in plan.values() for c in warm + timed])
    bench.serve()
    out: dict[str, Any] = {"bench": "pipeline", "broker": args.broker, "rate": args.rate}
    size = max(1, round(args.rate * args.seconds))
    out |= {"size": size, "seconds": args.seconds, "per_post": args.per_post}
    out |= {"signup_share": args.signup_share, "processes": args.processes}
    results: dict[int, Figures] = {}
    for processes in args.processes:
        results[processes] = bench.phase(processes, plan[processes])
        out |= {f"p{processes}_{k}": v for k, v in summary(results[processes]).items()}
    base = bench.baseline()
    head = results[max(results)]
    best = max(f.processed_rate for f in results.values())
    ratio = best / base.accepted_rate
    meets = judged(head)
    print(
        f"pipeline: {best:,.0f} events/s processed end to end (best of {args.processes} "
        f"processes, offered {args.rate:g}/s) ÷ {base.accepted_rate:,.0f} events/s plain "
        f"ingest on the same server = ratio {ratio:.3f} ({best / args.rate:.2f} of the "
        f"offered rate); lag p99 with {max(results)} "
        f"worker process(es) {head.lag(99):.3f} s (target ≤ {TARGET_LAG_P99:g} s under "
        f"{TARGET_RATE:g} events/s: {verdict(head)})"
    )
    out |= summary(head)  # the largest worker count's figures
    out |= {"best_processed_events_per_s": round(best, 1)}
    out |= {"baseline_ingest_events_per_s": round(base.accepted_rate, 1)}
    out |= {"processed_vs_offered": round(best / args.rate, 4)}
    out |= {"ratio": round(ratio, 4), "target_lag_p99_s": TARGET_LAG_P99, "meets_target": meets}
    return out


def main() -> None:
    """Run; whatever happens (an error, Ctrl-C, SIGTERM) stop everything started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleanup runs as for Ctrl-C
    args = parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    stack = ExitStack()
    figures_out: dict[str, Any] | None = None
    failure: str | None = None
    try:
        figures_out = run(args, stack, logs)
    except BenchError as exc:
        failure = f"bench/pipeline.py: {exc}"
    except KeyboardInterrupt:
        failure = "bench/pipeline.py: interrupted; everything it started is stopped"
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the clean-up finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.close()
        if figures_out is not None and not args.keep:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            kept = " (and the database: --keep)" if args.keep else ""
            print(f"the processes' logs are kept in {logs}{kept}", file=sys.stderr)
    if failure is not None or figures_out is None:
        sys.exit(failure or 1)
    print(json.dumps(figures_out))


if __name__ == "__main__":
    main()
