"""The faults, one after the other while the stream runs, each once the one before
has recovered (so each recovery time is its own), and how long each took to recover.

Recovered means, from the end of the fault: every event stored before that end is
processed (a worker killed, the broker down, the workers' database connections cut);
every e-mail decided before it has left the queue (the SMTP server down); the other
scheduler leads (the leader killed).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import text

from automation.db import get_engine
from tests.faults.fleet import Fleet
from tests.faults.sinks import SmtpSink

# How long the broker stays down, and the SMTP server twice as long: 10 s keeps the
# suite's time sane; FAULTS_OUTAGE_SECONDS=30 runs the hardening issue's 30 s broker and
# 60 s SMTP outages.
OUTAGE_SECONDS = float(os.environ.get("FAULTS_OUTAGE_SECONDS", "10"))
KILLS = 3  # worker processes SIGKILLed, one after the other
CALM_SECONDS = 5.0  # stream before the first fault
RECOVERY_CAP = 60.0  # the next fault comes after this one's recovery, or after this long
PAUSE = 2.0  # seconds of stream between one fault's recovery and the next fault
BURST = 1_000  # events given the workers before a kill: ten chunks, more than they hold
CALM = "calm (no fault)"
LATE = 5.0  # a fault not recovered from by then: note what is still waiting


class Outage(Protocol):
    """A service the harness can take down and bring back."""

    def stop(self) -> None: ...
    def restore(self) -> None: ...


@dataclass
class Fault:
    """One fault: when it ended, what recovered means for it, and how long that took."""

    name: str
    recovered: Callable[[Fault], bool] = lambda _: True
    ended: float | None = None  # time.monotonic()
    last_event: int = 0  # the newest event stored when it ended
    last_message: int = 0  # the newest message decided when it ended
    recovery: float | None = None  # seconds from the end to recovered
    note: str = ""
    waiting: str = ""  # what recovery still waited for, LATE seconds after the end

    def end(self, recovered: Callable[[Fault], bool]) -> None:
        self.last_event, self.last_message = _newest("events"), _newest("messages")
        self.ended, self.recovered = time.monotonic(), recovered


@dataclass
class Scenario:
    """Runs the faults in order, recording them; a monitor thread times each recovery."""

    fleet: Fleet
    broker: Outage
    smtp: SmtpSink
    burst: Callable[[int], None]  # work for the workers to hold when one is killed
    outage: float = OUTAGE_SECONDS
    faults: list[Fault] = field(default_factory=list)
    _done: threading.Event = field(default_factory=threading.Event)

    def phase(self) -> str:
        """The fault the stream is in now (the calm before the first)."""
        return self.faults[-1].name if self.faults else CALM

    def run(self) -> None:
        monitor = threading.Thread(target=self._monitor, name="monitor", daemon=True)
        monitor.start()
        time.sleep(CALM_SECONDS)
        for n in range(1, KILLS + 1):
            fault = self._begin(f"worker process kill -9 #{n}")
            self._make_busy()
            fault.note = f"pid {self.fleet.kill_worker_child()}"
            self._end(fault, events_caught_up)
        fault = self._begin(f"broker down {self.outage:g}s")
        self.broker.stop()
        time.sleep(self.outage)
        self.broker.restore()
        self._end(fault, events_caught_up)
        fault = self._begin("worker DB backends terminated")
        fault.note = f"{self.fleet.terminate_worker_backends()} backends"
        self._end(fault, events_caught_up)
        fault = self._begin(f"SMTP server down {2 * self.outage:g}s")
        self.smtp.stop()
        time.sleep(2 * self.outage)
        self.smtp.start()
        self._end(fault, mail_caught_up)
        fault = self._begin("scheduler leader kill -9")
        killed = self.fleet.kill_leader()
        fault.note = killed
        self._end(fault, lambda _: self.fleet.leader() not in (None, killed))

    def _make_busy(self) -> None:
        """Give the workers more than they hold at once; return once they are on it."""
        target = _unprocessed() + BURST - 100  # a chunk done: the others are in hand
        self.burst(BURST)
        _until(lambda: _unprocessed() <= target)  # if not by then, kill anyway

    def _end(self, fault: Fault, recovered: Callable[[Fault], bool]) -> None:
        """The fault is over: wait (a while) for its recovery, so the next one's is its own."""
        fault.end(recovered)
        deadline = time.monotonic() + RECOVERY_CAP
        while fault.recovery is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(PAUSE)

    def wait_recovered(self, timeout: float) -> None:
        """Until every fault has recovered (or ``timeout``); stops the monitor."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(f.recovery is None for f in self.faults):
            time.sleep(0.5)
        self._done.set()

    def _begin(self, name: str) -> Fault:
        fault = Fault(name)
        self.faults.append(fault)
        return fault

    def _monitor(self) -> None:
        while not self._done.wait(0.2):
            for fault in list(self.faults):
                if fault.ended is None or fault.recovery is not None:
                    continue
                try:
                    if fault.recovered(fault):
                        fault.recovery = time.monotonic() - fault.ended
                    elif not fault.waiting and time.monotonic() - fault.ended > LATE:
                        fault.waiting = _waiting(fault.last_event)
                except Exception:  # a query during a fault: look again next time
                    continue


def _scalar(sql: str, **params: object) -> int:
    with get_engine().connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one() or 0)


def _waiting(last: int) -> str:
    """The unprocessed events up to ``last`` and the unsettled messages, by kind and state."""
    with get_engine().connect() as conn:
        events = conn.execute(
            text(
                "SELECT type, attempts, count(*) FROM events WHERE processed_at IS NULL "
                "AND id <= :last GROUP BY type, attempts ORDER BY type"
            ),
            {"last": last},
        ).all()
        messages = conn.execute(
            text(
                "SELECT channel, status, count(*) FROM messages "
                "WHERE status IN ('queued', 'deferred', 'sending') GROUP BY channel, status"
            )
        ).all()
    parts = [f"{n} {kind} event(s) tried {tries}×" for kind, tries, n in events]
    parts += [f"{n} {channel} {status}" for channel, status, n in messages]
    return "; ".join(parts) or "nothing"


def _unprocessed() -> int:
    return _scalar("SELECT count(*) FROM events WHERE processed_at IS NULL")


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)


def _newest(table: str) -> int:
    return _scalar(f"SELECT max(id) FROM {table}")


def events_caught_up(fault: Fault) -> bool:
    """Every event stored before the fault ended is processed."""
    sql = "SELECT count(*) FROM events WHERE id <= :last AND processed_at IS NULL"
    return _scalar(sql, last=fault.last_event) == 0


def mail_caught_up(fault: Fault) -> bool:
    """Every e-mail decided before the fault ended has left the queue (sent, or settled
    otherwise)."""
    sql = (
        "SELECT count(*) FROM messages WHERE id <= :last AND channel = 'email' "
        "AND status IN ('queued', 'deferred', 'sending')"
    )
    return _scalar(sql, last=fault.last_message) == 0
