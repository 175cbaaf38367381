"""README.md's "Running it", followed word for word: every ``sh`` block of the section, in
order, in one shell in an empty folder, against the engine that the blocks themselves
serve (with the builtins they publish and the key they create). Verbatim, but for the
port 8000, which becomes a free one so that a server already on 8000 cannot answer."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers import free_port
from tests.services import UNDER_CI

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Running it"


def section_blocks(text: str, heading: str = SECTION) -> list[str]:
    """The ``sh`` code blocks under ``heading``, up to the next heading of its level."""
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    body = text[start : end if end > 0 else len(text)]
    return re.findall(r"^```sh\n(.*?)^```", body, re.S | re.M)


def test_the_blocks_are_found() -> None:
    blocks = section_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 4
    assert any("automation serve" in b for b in blocks)
    assert any("curl" in b and "X-API-Key: $KEY" in b for b in blocks)


def test_running_it_works_word_for_word(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        if UNDER_CI:
            pytest.fail("curl is missing, and CI=true: README's blocks need it", pytrace=False)
        pytest.skip("curl is missing: README's blocks need it")
    port = free_port()
    script = "\n".join(section_blocks((ROOT / "README.md").read_text()))
    script = script.replace("8000", str(port))
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))  # the blocks call .venv/bin/automation
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOMATION_")}
    shell = subprocess.Popen(
        ["bash", "-eu", "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the server it starts goes with it, whatever happens
    )
    try:
        output, _ = shell.communicate(timeout=180)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
    log = tmp_path / "serve.log"
    served = log.read_text() if log.exists() else "(no serve.log)"
    assert shell.returncode == 0, f"exit {shell.returncode}\n{output}\n--- serve.log\n{served}"

    answers = [json.loads(line) for line in output.splitlines() if line.startswith('{"accepted"')]
    assert [(a["accepted"], a["rejected"]) for a in answers] == [(1, 0), (1, 0)], output
    shown = json.loads(output[output.index('{\n  "journey": "welcome"') :].split("\n}\n")[0] + "}")
    assert shown["customers"] == {"v1": {"thanks": 1}}, output
    mails = list((tmp_path / "outbox" / "email").glob("*.eml"))
    assert len(mails) == 1, output
    assert "hana@example.com" in mails[0].read_text(errors="replace")
    assert "customers: 1 imported, 0 bad rows skipped" in output
