"""``automation report``: its options explained, ``--out`` in every format, and the
journeys table worded so that no figure misleads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automation.cli import app
from tests.reports.test_journeys import PERIOD, _seed

runner = CliRunner()
WEEK = ["--from", PERIOD.start.isoformat(), "--to", PERIOD.end.isoformat()]


def test_every_option_has_a_help_text() -> None:
    result = runner.invoke(app, ["report", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = re.sub(r"\s+", " ", result.output)
    assert "first day, YYYY-MM-DD, included (default: 29 days before --to)" in text
    assert "last day, YYYY-MM-DD, included (default: today)" in text
    assert "table (terminal), json, or html (one self-contained page)" in text
    assert "write the report to this file instead of the terminal (any format)" in text


@pytest.mark.parametrize("fmt", ["table", "json", "html"])
def test_out_writes_the_report_to_a_file(database: str, tmp_path: Path, fmt: str) -> None:
    _seed()
    target = tmp_path / f"journeys.{fmt}"
    result = runner.invoke(
        app, ["report", "journeys", *WEEK, "--format", fmt, "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert f"written to {target}" in result.output
    assert "retention" not in result.output  # the report went to the file, not the terminal
    text = target.read_text(encoding="utf-8")
    if fmt == "json":
        assert [j["journey"] for j in json.loads(text)["journeys"]] == [
            "quiet",
            "retention",
            "welcome",
        ]
    elif fmt == "html":
        assert text.lower().startswith("<!doctype html>") and "목표 없음 (no goal)" in text
    else:
        assert "welcome: 2 entered; no goal;" in text
        assert "\x1b[" not in text  # plain text, no terminal colours


def test_out_refuses_a_folder_that_does_not_exist(database: str, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "report.html"
    result = runner.invoke(app, ["report", "funnel", "--format", "html", "--out", str(target)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert f"--out {target}: the folder {target.parent} does not exist" in lines[0]
    assert not target.parent.exists()


def test_out_refuses_a_folder_as_the_file(database: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "funnel", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "is a folder, not a file" in result.output


def test_the_journeys_table_in_words(database: str) -> None:
    _seed()
    result = runner.invoke(app, ["report", "journeys", *WEEK], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "welcome: 2 entered; no goal; completed 1, exited 0, still in 1" in out
    assert "goal rate 0.0%" not in out
    # retention: 2/7 treated against 1/4 held out, both groups under 30
    assert "retention: 12 entered; goal rate 25.0% (3 converted)" in out
    assert "a treated group under 30 is too small to tell" not in out
    assert "a holdout under 30 is too small to tell an uplift from chance" in out
    assert "came from" in out and "done (end)" in out
