"""Every bench runs at its small size (``bench/run_all.py --quick``), so a broken bench
fails the build. No speed is asserted: a missed target is the table's business.

The benches' databases carry a suffix of this run (``BENCH_DB_SUFFIX``) and are dropped
afterwards, so a ``make bench`` beside the suite keeps its own; ``AUTOMATION_*`` settings
are not passed on (the benches choose their own database and broker: Redis db 14 or
``stub://``, never the suite's db 15 or RabbitMQ).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.services import PG_ADMIN_URL, require

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TIMEOUT = 600  # seconds; all the benches at --quick take one or two minutes on 2 cores


def bench_names() -> list[str]:
    return sorted(p.stem for p in BENCH.glob("[!_]*.py") if p.name != "run_all.py")


def json_lines(output: str) -> dict[str, dict[str, object]]:
    """Each bench's last line before run_all's ``== bench/NAME.py: exit`` line, when it
    is a JSON object."""
    found: dict[str, dict[str, object]] = {}
    lines = [line for line in output.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if i and line.startswith("== bench/") and ": exit " in line:
            name = line.removeprefix("== bench/").split(".py:", 1)[0]
            try:
                value = json.loads(lines[i - 1])
            except ValueError:
                continue
            if isinstance(value, dict):
                found[name] = value
    return found


def drop_databases(suffix: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
        for name in names:
            if name.startswith("automation_bench") and name.endswith(suffix):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_quick(suffix: str) -> tuple[int, str, str]:
    """``run_all.py --quick``; on a timeout its whole process group is killed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOMATION_")}
    env["BENCH_DB_SUFFIX"] = suffix
    with subprocess.Popen(
        [sys.executable, str(BENCH / "run_all.py"), "--quick"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"bench/run_all.py --quick took over {TIMEOUT} s:\n{out[-3000:]}")
    return proc.returncode, out, err


@pytest.mark.services
def test_every_bench_runs_at_its_quick_size() -> None:
    require("postgresql")
    suffix = f"_t{os.getpid()}"
    try:
        code, out, err = run_quick(suffix)
    finally:
        drop_databases(suffix)
    tail = f"--- stdout (end):\n{out[-4000:]}\n--- stderr (end):\n{err[-4000:]}"
    assert code == 0, f"bench/run_all.py --quick exited {code}\n{tail}"
    printed = json_lines(out)
    missing = [name for name in bench_names() if name not in printed]
    assert not missing, f"no JSON line from {missing}\n{tail}"
