"""The pipeline bench's processes: its own ``redis-server``, its own RabbitMQ virtual
host, the engine's ``automation`` processes, and their CPU time read from ``/proc``.

Everything is started by the bench and stopped by it by process id. The processes stay
in the bench's process group, so a Ctrl-C in the terminal or a kill of the group (a
test's timeout) reaches them too, and each gets SIGTERM when the bench dies whatever
the way (``PR_SET_PDEATHSIG``). The machine's shared Redis and RabbitMQ's default vhost
are never used.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import httpx
from _common import BenchError, check

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def die_with_parent() -> None:
    """In the child before ``exec``: SIGTERM when the bench's process ends (Linux)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: no such call
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    """A TCP port nothing listens on now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, ready: Callable[[], bool], timeout: float, every: float = 0.1) -> None:
    """Poll ``ready()`` until true; a :class:`BenchError` naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise BenchError(f"{what} not ready within {timeout:.0f} s")
        time.sleep(every)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 45.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; by pid, never by name."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class OwnRedis:
    """``redis-server`` on a free loopback port, no persistence; gone when stopped."""

    def __init__(self) -> None:
        check(shutil.which("redis-server") is not None, "redis-server is not installed")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent
        )
        wait_for("redis-server", self._answers, timeout=10)

    def _answers(self) -> bool:
        import redis

        check(self.proc.poll() is None, f"redis-server exited with {self.proc.returncode}")
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def reset(self) -> None:
        """Empty this server (the bench's own: nothing else uses it)."""
        import redis

        redis.Redis(port=self.port, socket_timeout=5).flushall()

    def close(self) -> None:
        stop_process(self.proc, timeout=10)


class OwnVhost:
    """A virtual host of the bench's own on the machine's RabbitMQ (127.0.0.1:5672)."""

    def __init__(self) -> None:
        check(shutil.which("rabbitmqctl") is not None, "rabbitmqctl is not installed")
        self.vhost = f"bench-pipeline-{uuid.uuid4().hex[:8]}"
        self.url = f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}"
        self.created = False
        _rabbitmqctl("add_vhost", self.vhost)
        self.created = True
        _rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

    def reset(self) -> None:
        """Empty the vhost's queues (its own; a queue the bench never declared is left)."""
        _rabbitmqctl("purge_queue", "-p", self.vhost, "events", check=False)
        _rabbitmqctl("purge_queue", "-p", self.vhost, "messages", check=False)

    def close(self) -> None:
        if self.created:
            _rabbitmqctl("delete_vhost", self.vhost)
            self.created = False


def _rabbitmqctl(*args: str, check: bool = True) -> None:
    try:
        subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"rabbitmqctl {' '.join(args)}: {exc}") from None


class Engine:
    """``automation`` commands with the bench's environment; long-running ones logged."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self._open: list[IO[bytes]] = []

    def env_for(self, app: str) -> dict[str, str]:
        """The environment with ``application_name=app`` on the database URL: whose
        PostgreSQL backends are whose."""
        url = self.env["AUTOMATION_DATABASE_URL"]
        return dict(self.env, AUTOMATION_DATABASE_URL=f"{url}?application_name={app}")

    def run(self, *args: str, stdin: bytes | None = None) -> str:
        """A one-shot command; its stdout (stripped). Fails the bench on a non-zero exit."""
        done = subprocess.run(
            [sys.executable, "-m", "automation.cli", *args],
            cwd=self.logs,
            env=self.env,
            input=stdin,
            capture_output=True,
            timeout=300,
        )
        if done.returncode:
            tail = done.stderr.decode(errors="replace").strip()[-800:]
            raise BenchError(f"automation {' '.join(args)} exited {done.returncode}: {tail}")
        return done.stdout.decode().strip()

    def start(self, app: str, log: str, *args: str) -> subprocess.Popen[bytes]:
        """A long-running command, its database backends named ``app``, output to
        ``logs/<log>.log``."""
        out = (self.logs / f"{log}.log").open("ab")
        self._open.append(out)
        return subprocess.Popen(
            [sys.executable, "-m", "automation.cli", *args],
            cwd=self.logs,
            env=self.env_for(app),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )

    def close(self) -> None:
        for out in self._open:
            out.close()


def wait_serving(base: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    """Until ``GET /healthz`` answers 200 (the process must stay up meanwhile)."""

    def healthy() -> bool:
        check(proc.poll() is None, f"automation serve exited with {proc.returncode}")
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for("automation serve", healthy, timeout, every=0.2)


def wait_workers(proc: subprocess.Popen[bytes], log: Path, processes: int) -> None:
    """Until the worker log says ``processes`` worker processes are ready."""

    def ready() -> bool:
        check(proc.poll() is None, f"automation worker exited with {proc.returncode}")
        return log.read_text(errors="replace").count("worker process ready") >= processes

    wait_for("automation worker", ready, timeout=90, every=0.2)


def children(pid: int) -> list[int]:
    """The live child pids of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def named(command: str) -> list[int]:
    """The pids whose command name is ``command`` (read from /proc; nothing is signalled)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == command:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds of each pid still alive."""
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy since boot (``/proc/stat``: all but idle
    and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds per component between :meth:`start` and :meth:`stop`, and the rest of
    the machine's busy time (``others``: what else runs here, the test suite included).

    ``components`` maps a name to a function giving its pids now (asked at both ends: a
    pid seen only at the end counts from zero, one gone at the end is lost)."""

    def __init__(self, components: dict[str, Callable[[], list[int]]]) -> None:
        self.components = components
        self.before: dict[str, dict[int, float]] = {}
        self.busy = 0.0

    def start(self) -> None:
        self.before = {name: cpu_seconds(pids()) for name, pids in self.components.items()}
        self.busy = machine_busy()

    def stop(self) -> dict[str, float]:
        used: dict[str, float] = {}
        busy = machine_busy() - self.busy
        for name, pids in self.components.items():
            now, then = cpu_seconds(pids()), self.before.get(name, {})
            used[name] = sum(max(0.0, t - then.get(pid, 0.0)) for pid, t in now.items())
        used["others"] = max(0.0, busy - sum(used.values()))
        return used
