"""``automation worker``: worker processes kept running.

Dramatiq's own command stops every worker process when one dies (and then exits), so
one ``kill -9`` or one crash took a machine's whole worker down until someone started it
again, and the messages the dead process held waited for the relay. The supervisor
starts ``--processes`` worker processes (``child.py``) and starts a dead one again after
a short wait, doubling while it keeps dying young (a crash loop should not spin) and
back to the shortest once it has stayed up. A child that cannot load the code or the
settings stops everything: starting it again would not help.

SIGTERM, SIGINT or SIGHUP: every child is asked to stop (SIGTERM: it finishes the
messages it holds); a second signal ends them at once.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

from automation.worker.child import EXIT_CONFIG, SHUTDOWN_MS

log = logging.getLogger(__name__)

FIRST_DELAY = 0.5  # seconds before a dead child is started again
LONGEST_DELAY = 30.0  # the wait doubles up to this while children keep dying young
STAYED_UP = 10.0  # a child that ran this long died of something else: start from FIRST_DELAY
POLL = 0.1  # how often the children are looked at
STOP_GRACE = SHUTDOWN_MS / 1000 + 10  # then what is still running is killed


def child_command(threads: int, prefetch: int) -> list[str]:
    """The command line of one worker process."""
    return [
        sys.executable,
        "-m",
        "automation.worker.child",
        "--threads",
        str(threads),
        "--prefetch",
        str(prefetch),
    ]


@dataclass
class Slot:
    """One of the ``--processes`` places: its current process and its recent deaths."""

    index: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    deaths: int = 0  # in a row, each within STAYED_UP of its start
    start_at: float | None = 0.0  # when to start it (again); None while it runs
    history: list[int] = field(default_factory=list)  # pids, oldest first


class Supervisor:
    """Keeps ``len(slots)`` worker processes running until told to stop."""

    def __init__(
        self, processes: int, command: Sequence[str], restart_args: Sequence[str] = ()
    ) -> None:
        if processes < 1:
            raise ValueError("at least one worker process")
        self.command = list(command)
        self.restart_args = list(restart_args)  # added for a process replacing a dead one
        self.slots = [Slot(i) for i in range(processes)]
        self._signals = 0

    def run(self) -> int:
        """Start the children and keep them up; returns the exit status once stopped."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        log.info("worker: %d processes: %s", len(self.slots), " ".join(self.command))
        status = 0
        while not self._signals:
            status = self._tend(time.monotonic())
            if status:
                break
            time.sleep(POLL)
        self._stop_all()
        return status

    def pids(self) -> list[int]:
        """The pids of the children that are running now."""
        return [s.proc.pid for s in self.slots if s.proc is not None and s.proc.poll() is None]

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:  # asked again: do not wait for messages in hand
            self._send(signal.SIGTERM)

    def _tend(self, now: float) -> int:
        """Start what is due, note what died; an exit status when we must give up."""
        for slot in self.slots:
            if slot.proc is not None:
                code = slot.proc.poll()
                if code is None:
                    continue
                if code == EXIT_CONFIG:
                    log.error("worker %d cannot load the code or settings; stopping", slot.index)
                    return EXIT_CONFIG
                self._schedule(slot, code, now)
            if slot.start_at is not None and now >= slot.start_at:
                self._start(slot, now)
        return 0

    def _schedule(self, slot: Slot, code: int, now: float) -> None:
        assert slot.proc is not None
        lived = now - slot.started
        slot.deaths = slot.deaths + 1 if lived < STAYED_UP else 1
        delay = min(LONGEST_DELAY, FIRST_DELAY * 2 ** (slot.deaths - 1))
        how = f"signal {-code}" if code < 0 else f"status {code}"
        log.warning(
            "worker %d (pid %d) ended (%s) after %.1fs; starting it again in %.1fs",
            slot.index,
            slot.proc.pid,
            how,
            lived,
            delay,
        )
        slot.proc, slot.start_at = None, now + delay

    def _start(self, slot: Slot, now: float) -> None:
        command = self.command + (self.restart_args if slot.history else [])
        slot.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        slot.started, slot.start_at = now, None
        slot.history.append(slot.proc.pid)

    def _send(self, sig: signal.Signals) -> None:
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is None:
                slot.proc.send_signal(sig)  # a no-op once it has been reaped

    def _stop_all(self) -> None:
        log.info("worker: stopping %d processes", len(self.pids()))
        self._send(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while self.pids() and time.monotonic() < deadline:
            time.sleep(POLL)
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is None:
                log.warning("worker %d (pid %d) did not stop: killed", slot.index, slot.proc.pid)
                slot.proc.kill()
                slot.proc.wait()


def supervise(processes: int, threads: int, prefetch: int = 0) -> int:
    """Run ``processes`` worker processes of ``threads`` threads until signalled."""
    # A long-running service says what it does: children started, dead, started again.
    logging.getLogger("automation.worker").setLevel(logging.INFO)
    command = child_command(threads, prefetch)
    # The replacement relays what the dead one stranded (worker/relay_once.py).
    return Supervisor(processes, command, restart_args=["--after-crash"]).run()
