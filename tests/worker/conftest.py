"""The worker tests' processes are stopped after each test, whatever it did."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.worker.procs import stop


@pytest.fixture
def stop_later() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        stop(proc, timeout=20)
