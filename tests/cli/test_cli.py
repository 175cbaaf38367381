"""The command line as a user drives it: exit codes, one-line errors, real effects."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from automation import db
from automation.cli import app
from automation.events.ingest import ingest
from automation.events.outbox import unprocessed_count
from automation.models import ApiKey
from tests.helpers import customer, ev, events_by_id

runner = CliRunner()


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "automation.db").exists()


def test_keys_create_prints_the_key_once_and_stores_only_its_hash(database: str) -> None:
    result = runner.invoke(app, ["keys", "create", "ingest", "--name", "website"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[0]
    assert key.startswith("ak_ingest_")
    with db.session_scope() as s:
        row = s.exec(select(ApiKey)).scalars().one()  # type: ignore[call-overload]
    assert (row.name, row.scope) == ("website", "ingest")
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (row.key_hash, row.prefix)


def test_keys_create_refuses_an_unknown_scope(database: str) -> None:
    result = runner.invoke(app, ["keys", "create", "root"])
    assert result.exit_code == 1
    assert "not one of ingest, admin, agent" in result.output


def test_drain_processes_what_is_stored(database: str) -> None:
    ingest(
        [
            ev("s", "signup", visitor_id="v1", customer_id="C1"),
            ev("b", "policy_purchased", customer_id="C1", properties={"policy_id": "P1"}),
        ],
        publish=False,  # as if the broker had been down
    )
    assert unprocessed_count() == 2
    result = runner.invoke(app, ["drain"])
    assert result.exit_code == 0, result.output
    assert unprocessed_count() == 0
    assert all(e.processed_at for e in events_by_id().values())
    c = customer("C1")
    assert c is not None and c.lifecycle_stage == "customer"


def test_reports_from_the_command_line(database: str) -> None:
    for kind in ("funnel", "weblog", "campaigns", "journeys"):
        for fmt in ("table", "json", "html"):
            result = runner.invoke(app, ["report", kind, "--format", fmt])
            assert result.exit_code == 0, (kind, fmt, result.output)
    html = runner.invoke(app, ["report", "funnel", "--format", "html"]).output
    assert html.lstrip().lower().startswith("<!doctype html>")
    bad = runner.invoke(app, ["report", "funnel", "--from", "2026-02-30"])
    assert bad.exit_code == 1 and "is not a date" in bad.output
    unknown = runner.invoke(app, ["report", "sales"])
    assert unknown.exit_code == 1 and "one of campaigns, funnel, journeys, weblog" in unknown.output


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOMATION_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "automation.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_setting_is_one_line_without_traceback(tmp_path: Path) -> None:
    proc = _run("db", "upgrade", cwd=tmp_path, env={"AUTOMATION_NOW": "2026-11-22T10:00:00"})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "AUTOMATION_NOW needs a time zone" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_secret_key_is_required_outside_the_embedded_default(tmp_path: Path) -> None:
    proc = _run(
        "db", "upgrade", cwd=tmp_path, env={"AUTOMATION_BROKER_URL": "redis://127.0.0.1:6379/0"}
    )
    assert proc.returncode == 1
    assert "AUTOMATION_SECRET_KEY is required" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_command_on_an_empty_database_says_what_to_do(tmp_path: Path) -> None:
    proc = _run("segments", "list", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == "error: the database has no tables yet: run `automation db upgrade`\n"


def test_user_data_with_brackets_is_printed_as_is(tmp_path: Path) -> None:
    bad = tmp_path / "customers[1].csv"
    bad.write_text("customer_id,email,timezone\nC1,a@example.kr,[/oops]\n", encoding="utf-8")
    assert _run("db", "upgrade", cwd=tmp_path).returncode == 0
    proc = _run("import", "customers", str(bad), cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{bad}:2:" in proc.stderr and "[/oops]" in proc.stderr


def test_a_database_without_tables_says_what_to_do(tmp_path: Path) -> None:
    proc = _run("journeys", "list", cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "run `automation db upgrade`" in proc.stderr
