"""The engine's processes in the harness, as production runs them: one ``automation
worker`` (the supervisor and its worker processes) and two ``automation scheduler``
processes contending for the lead, each configured only through its environment."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.faults.world import HarnessDatabase
from tests.worker.procs import ROOT, children, stop, wait_until

WORKER_APP = "faults-worker"
SCHEDULER_APPS = ("faults-scheduler-a", "faults-scheduler-b")


class Fleet:
    """Starts, kills and stops the engine's processes; names their database backends."""

    def __init__(self, database: HarnessDatabase, env: dict[str, str], logs: Path) -> None:
        self.database = database
        self.env = env
        self.logs = logs
        self.worker: subprocess.Popen[bytes] | None = None
        self.processes = 0
        self.schedulers: dict[str, subprocess.Popen[bytes]] = {}
        self._admin = create_engine(
            database.url.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )

    def start_worker(self, processes: int = 2, threads: int = 2) -> None:
        self.processes = processes
        args = ["worker", "--processes", str(processes), "--threads", str(threads)]
        self.worker = self._start("worker", WORKER_APP, args)

    def start_schedulers(self) -> None:
        for app in SCHEDULER_APPS:
            self.schedulers[app] = self._start(app, app, ["scheduler"])

    def _start(self, log: str, app: str, args: list[str]) -> subprocess.Popen[bytes]:
        env = dict(self.env, AUTOMATION_DATABASE_URL=self.database.url_for(app))
        out = (self.logs / f"{log}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "automation.cli", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def worker_children(self) -> list[int]:
        assert self.worker is not None
        return children(self.worker.pid)

    def kill_worker_child(self) -> int:
        """SIGKILL one worker process, chosen at random once all are up; its pid."""
        wait_until(lambda: len(self.worker_children()) == self.processes, timeout=30)
        victim = random.choice(self.worker_children())
        os.kill(victim, signal.SIGKILL)
        return victim

    def terminate_worker_backends(self) -> int:
        """``pg_terminate_backend`` on every connection of the workers; how many."""
        query = text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :app"
        )
        with self._admin.connect() as conn:
            return int(conn.execute(query, {"app": WORKER_APP}).scalar_one())

    def leader(self) -> str | None:
        """The scheduler holding the leader's advisory lock in this database, if any."""
        query = text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"
        )
        with self._admin.connect() as conn:
            names = [str(n) for n in conn.execute(query).scalars() if n in self.schedulers]
        return names[0] if len(names) == 1 else None

    def kill_leader(self) -> str:
        """SIGKILL the leading scheduler; its name."""
        leader = self.leader()
        assert leader is not None, "no scheduler leads"
        self.schedulers[leader].kill()
        self.schedulers[leader].wait()
        return leader

    def stop(self) -> None:
        for proc in [*self.schedulers.values(), *([self.worker] if self.worker else [])]:
            stop(proc, timeout=40)
        self._admin.dispose()
