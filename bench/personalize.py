"""``GET /v1/personalize`` under a fixed request rate: p50 and p99 latency for known
customers and anonymous visitors, beside ``/healthz`` on the same server in the same run.

Set-up (not timed; ``bench/_personalize_world.py``): the PostgreSQL database
``automation_bench_personalize`` (+ ``BENCH_DB_SUFFIX``), dropped, re-created and
migrated (``AUTOMATION_DATABASE_URL`` is overridden); ``--customers`` customers,
products, policies and ``--events`` recent views by ``COPY``, ``ANALYZE``; the built-in
offer rules published; an ``ingest`` key.

The server: ``uvicorn automation.api.app:create_app --factory --workers 1`` (what
``automation serve`` runs, without its embedded worker: nothing is ingested here; more
processes with ``--workers``) on 127.0.0.1, access log on, broker ``stub://``. The
load: ``bench/_personalize_load.py`` in another process, open loop at ``--rate``
requests/s for ``--seconds`` per phase over at most ``--connections`` keep-alive
connections, latency from each request's due time. After a ``--warmup`` of both kinds
of request, three phases:

- ``/healthz`` (the baseline: the same server answering a route with one ``SELECT 1``);
- known customers: ``?customer_id=…&visitor_id=…&page=/`` (half of them browsing);
- anonymous visitors: ``?visitor_id=…&page=/`` (four in five with a history, one in
  five never seen).

``ratio`` = known p99 ÷ healthz p99. Target (2 cores): p99 ≤ 25 ms at 300 requests/s
with 100,000 customers, and no error. Run::

    python bench/personalize.py            # 100,000 customers, 300 requests/s, 20 s a phase
    python bench/personalize.py --quick    # 10,000 customers, 100 requests/s, 5 s a phase

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from _common import BenchError, PgBare, bench_db, check, own_pg_database, parse_quick
from _personalize_world import World, customer_id, fill, visitor_id
from _pipeline_procs import (
    children,
    cpu_seconds,
    die_with_parent,
    free_port,
    stop_process,
    wait_serving,
)

from automation import clock

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH = Path(__file__).resolve().parent
TARGET_P99_MS = 25.0
TARGET_RATE = 300.0
TARGET_CUSTOMERS = 100_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--customers", type=int, default=TARGET_CUSTOMERS)
    parser.add_argument("--events", type=int, default=0, help="views (default 3 × customers)")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="requests/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, not measured")
    parser.add_argument("--connections", type=int, default=32, help="at most in flight")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the server's log")
    args = parse_quick(parser, {"customers": 10_000, "rate": 100, "seconds": 5})
    args.events = args.events or 3 * args.customers
    return args


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (``q`` in 0–100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else 0.0


class Server:
    """The app under uvicorn, one worker process, on a free loopback port."""

    def __init__(self, logs: Path, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = (logs / "serve.log").open("ab")
        command = [sys.executable, "-m", "uvicorn", "automation.api.app:create_app"]
        command += ["--factory", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(workers), "--log-level", "info"]
        self.proc = subprocess.Popen(
            command,
            cwd=logs,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        wait_serving(self.base, self.proc)

    def cpu(self) -> float:
        """CPU seconds of the server's processes so far (with ``--workers`` > 1, uvicorn's
        supervisor and its workers)."""
        return sum(cpu_seconds([self.proc.pid, *children(self.proc.pid)]).values())

    def close(self) -> None:
        stop_process(self.proc)
        self.log.close()


def load(server: Server, key: str, paths: list[str], args: argparse.Namespace, seconds: float,
         expect: str) -> dict[str, Any]:  # fmt: skip
    """One phase from the load generator's process; its result, with the server's CPU."""
    spec = {"host": "127.0.0.1", "port": server.port, "key": key, "paths": paths}
    spec |= {"rate": args.rate, "seconds": seconds, "connections": args.connections}
    spec["expect"] = expect
    before = server.cpu()
    done = subprocess.run(
        [sys.executable, str(BENCH / "_personalize_load.py")],
        input=json.dumps(spec).encode(),
        capture_output=True,
        timeout=seconds * 3 + 60,
        preexec_fn=die_with_parent,
    )
    check(done.returncode == 0, f"the load generator failed: {done.stderr.decode()[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["server_cpu_s"] = server.cpu() - before
    return result


def known_paths(world: World, n: int, rng: random.Random) -> list[str]:
    """Signed-in customers as ``site.js`` asks for them: half browsing, half any."""
    paths = []
    for _ in range(n):
        i = rng.choice(world.browsing) if rng.random() < 0.5 else rng.randrange(world.customers)
        cid = customer_id(i)
        paths.append(f"/v1/personalize?customer_id={cid}&visitor_id=v-{cid}&page=/")
    return paths


def anonymous_paths(world: World, n: int, rng: random.Random) -> list[str]:
    """Visitors: four in five with a history, one in five never seen."""
    paths = []
    for k in range(n):
        vid = visitor_id(rng.randrange(world.visitors)) if k % 5 else f"new{k:08d}"
        paths.append(f"/v1/personalize?visitor_id={vid}&page=/")
    return paths


def sane(server: Server, key: str, world: World) -> None:
    """One answer of each kind looks as it should before anything is timed."""
    headers = {"X-API-Key": key}
    cid = customer_id(world.browsing[0])
    known = httpx.get(f"{server.base}/v1/personalize?customer_id={cid}", headers=headers)
    check(known.status_code == 200, f"personalize answered {known.status_code}: {known.text}")
    check(known.json()["person"]["known"] is True, f"not a known customer: {known.text[:300]}")
    anon = httpx.get(f"{server.base}/v1/personalize?visitor_id={visitor_id(0)}", headers=headers)
    check(anon.status_code == 200, f"personalize answered {anon.status_code}: {anon.text}")
    person = anon.json()["person"]
    check(person["known"] is False and person["visits"] > 0, f"visitor: {anon.text[:300]}")
    check(any(anon.json()["slots"].values()), "an anonymous visitor got no item at all")


def figures(name: str, result: dict[str, Any], rate: float) -> dict[str, float]:
    lat = result["latencies_ms"]
    out = {
        "p50_ms": round(percentile(lat, 50), 2),
        "p99_ms": round(percentile(lat, 99), 2),
        "max_ms": round(max(lat, default=0.0), 2),
        "errors": result["errors"],
        "achieved_rate": round(len(lat) / result["elapsed_s"], 1) if result["elapsed_s"] else 0,
        "late": result["late"],
        "server_cpu_ms_per_request": round(1000 * result["server_cpu_s"] / max(1, len(lat)), 2),
    }
    print(
        f"{name:<22} p50 {out['p50_ms']:7.2f} ms  p99 {out['p99_ms']:7.2f} ms  "
        f"max {out['max_ms']:8.2f} ms  errors {out['errors']}  {len(lat):,} requests at "
        f"{out['achieved_rate']:,.1f}/s (offered {rate:g}/s; {out['late']} left > 2 ms "
        f"late)  server CPU {out['server_cpu_ms_per_request']:.2f} ms/request",
        flush=True,
    )
    for sample in result["error_samples"]:
        print(f"  error: {sample}")
    return out


def run(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    from automation.api.keys import create_key
    from automation.personalize.store import publish_builtin

    print(f"{os.cpu_count()} cores, load average {Path('/proc/loadavg').read_text().strip()}")
    url = own_pg_database(
        PG_ADMIN_URL,
        bench_db("automation_bench_personalize"),
        "the bench fills a database of its own",
        "ANALYZE after the set-up",
    )
    bare = PgBare(url)
    try:
        now = clock.now() - timedelta(seconds=5)
        world = fill(bare, now, args.customers, args.events)
        bare.checkpoint()
    finally:
        bare.close()
    print(f"set-up: {args.customers:,} customers, {args.events:,} views, {world.visitors:,} "
          f"anonymous visitors with a history")  # fmt: skip
    print(f"offer rules v{publish_builtin('bench').version} published")
    key = create_key("ingest", "bench-personalize")
    server = Server(logs, args.workers)
    try:
        pid = server.proc.pid
        print(f"server: uvicorn --factory --workers {args.workers} at {server.base} (pid {pid})")
        sane(server, key, world)
        rng = random.Random(7)
        n = max(1, round(args.rate * args.seconds))
        warm = known_paths(world, 200, rng) + anonymous_paths(world, 200, rng)
        rng.shuffle(warm)
        load(server, key, warm, args, args.warmup, "json")
        phases = {
            "healthz": (["/healthz"], "json"),
            "known": (known_paths(world, n, rng), "json"),
            "anonymous": (anonymous_paths(world, n, rng), "json"),
        }
        out: dict[str, Any] = {}
        for name, (paths, expect) in phases.items():
            result = load(server, key, paths, args, args.seconds, expect)
            label = "/healthz" if name == "healthz" else f"personalize {name}"
            out |= {f"{name}_{k}": v for k, v in figures(label, result, args.rate).items()}
    finally:
        server.close()
    return out


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean-up runs as for Ctrl-C
    args = parse_args()
    logs = Path(tempfile.mkdtemp(prefix="site-bench-personalize-"))
    try:
        out = run(args, logs)
    except BenchError as exc:
        print(f"the server's log: {logs}/serve.log", file=sys.stderr)
        sys.exit(f"bench/personalize.py: {exc}")
    if args.keep:
        print(f"the server's log: {logs}/serve.log")
    else:
        shutil.rmtree(logs, ignore_errors=True)
    errors = out["healthz_errors"] + out["known_errors"] + out["anonymous_errors"]
    known_p99 = out["known_p99_ms"]
    ratio = known_p99 / out["healthz_p99_ms"] if out["healthz_p99_ms"] else 0.0
    at_target = args.customers >= TARGET_CUSTOMERS and args.rate >= TARGET_RATE
    meets = known_p99 <= TARGET_P99_MS and out["anonymous_p99_ms"] <= TARGET_P99_MS
    meets = meets and errors == 0
    verdict = ("meets" if meets else "misses") if at_target else "n/a below full size"
    print(
        f"personalize p99: known {known_p99:.2f} ms, anonymous {out['anonymous_p99_ms']:.2f} "
        f"ms; /healthz {out['healthz_p99_ms']:.2f} ms (ratio {ratio:.2f}); {errors} errors; "
        f"target p99 ≤ {TARGET_P99_MS:g} ms at {TARGET_RATE:g}/s with "
        f"{TARGET_CUSTOMERS:,} customers, no error: {verdict}"
    )
    summary = {
        "bench": "personalize",
        "size": args.customers,
        "events": args.events,
        "rate": args.rate,
        "seconds": args.seconds,
        "workers": args.workers,
        "connections": args.connections,
        **out,
        "ratio": round(ratio, 3),
        "errors": errors,
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": meets if at_target else None,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
