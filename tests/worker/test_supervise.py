"""The supervisor of ``automation worker``: a dead child is started again, a crash loop
slows down, a child that cannot load stops everything, a signal stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from automation.worker import supervise
from automation.worker.child import EXIT_CONFIG
from automation.worker.supervise import Slot, Supervisor
from tests.worker.procs import ROOT, children, env_with, stop, wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _supervisor(processes: int, command: list[str]) -> subprocess.Popen[bytes]:
    """A supervisor in its own process (it sets signal handlers: a main thread's job)."""
    code = (
        "import sys; from automation.worker.supervise import Supervisor; "
        f"sys.exit(Supervisor({processes}, {command!r}).run())"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env_with())


@pytest.fixture
def started() -> Any:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        stop(proc, timeout=10)


def test_a_killed_child_is_started_again_within_a_second(started: list) -> None:
    sup = _supervisor(2, SLEEPER)
    started.append(sup)
    wait_until(lambda: len(children(sup.pid)) == 2, timeout=20)
    first = children(sup.pid)
    os.kill(first[0], signal.SIGKILL)
    took = wait_until(lambda: len(set(children(sup.pid)) - set(first)) == 1, timeout=5)
    assert took < 2
    assert first[1] in children(sup.pid)  # the other one was left alone
    assert sup.poll() is None


def test_a_signal_stops_every_child_and_the_supervisor_exits_0(started: list) -> None:
    sup = _supervisor(3, SLEEPER)
    started.append(sup)
    wait_until(lambda: len(children(sup.pid)) == 3, timeout=20)
    kids = children(sup.pid)
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(timeout=20) == 0
    assert not any(os.path.exists(f"/proc/{pid}") for pid in kids)  # ended and reaped


def test_a_child_that_cannot_load_stops_the_supervisor(started: list) -> None:
    sup = _supervisor(2, [sys.executable, "-c", f"import sys; sys.exit({EXIT_CONFIG})"])
    started.append(sup)
    assert sup.wait(timeout=20) == EXIT_CONFIG


class _Ended:
    """A child that has ended with ``code``."""

    def __init__(self, code: int) -> None:
        self.code, self.pid = code, 4242

    def poll(self) -> int:
        return self.code


def test_children_dying_young_wait_longer_each_time_then_start_from_the_shortest() -> None:
    sup = Supervisor(1, SLEEPER)
    slot: Slot = sup.slots[0]
    delays = []
    now = 1000.0
    for _ in range(8):  # each dies a second after its start
        slot.proc, slot.started, slot.start_at = _Ended(-9), now - 1, None  # type: ignore[assignment]
        sup._schedule(slot, -9, now)
        assert slot.start_at is not None
        delays.append(slot.start_at - now)
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(delays) == supervise.LONGEST_DELAY
    # One that stayed up died of something else: back to the shortest wait.
    slot.proc, slot.started = _Ended(1), now - supervise.STAYED_UP - 1  # type: ignore[assignment]
    sup._schedule(slot, 1, now)
    assert slot.start_at == now + supervise.FIRST_DELAY


def test_the_child_command_runs_the_worker_module_with_its_threads_and_prefetch() -> None:
    command = supervise.child_command(3, 1)
    assert command[1:3] == ["-m", "automation.worker.child"]
    assert command[3:] == ["--threads", "3", "--prefetch", "1"]
