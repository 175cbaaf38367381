"""One line, exit 1, for a database that cannot be opened and for an absurd report
period: never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automation.cli import app
from tests.cli.test_cli import _run


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("folder", "it is a folder, not a file"),
        ("missing/x.db", "does not exist"),
        ("plain-file/x.db", "is not a folder"),
        ("not-a-db.db", "the file is not a SQLite database"),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_line(
    tmp_path: Path, where: str, reason: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain-file").write_text("x")
    (tmp_path / "not-a-db.db").write_text("this is not SQLite, just text " * 100)
    path = tmp_path / where
    env = {"AUTOMATION_DATABASE_URL": f"sqlite:///{path}"}
    for command in (["db", "upgrade"], ["keys", "list"]):
        proc = _run(*command, cwd=tmp_path, env=env)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith(f"error: cannot open the database {path}: ") and reason in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_this_user_cannot_write_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    env = {"AUTOMATION_DATABASE_URL": f"sqlite:///{locked}/x.db"}
    proc = _run("db", "upgrade", cwd=tmp_path, env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "permission denied" in proc.stderr and str(locked) in proc.stderr


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--from", "0001-01-01", "--to", "9999-12-31"], "--to 9999-12-31 is outside"),
        (["--to", "0001-01-01"], "--to 0001-01-01 is outside"),
        (["--from", "2001-01-01", "--to", "2026-01-01"], "at most 1,830 days"),
    ],
)
def test_a_report_period_outside_a_sane_range_is_one_line(
    database: str, args: list[str], reason: str
) -> None:
    result = CliRunner().invoke(app, ["report", "campaigns", *args])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert reason in result.output
    assert len(result.output.strip().splitlines()) == 1
