"""The long-running processes: what ``serve`` and ``worker`` refuse to start with outside
the embedded default, and ``scheduler --status`` in an 80-column terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pendulum
import pytest
from rich.console import Console
from typer.testing import CliRunner

from automation.cli import app, runtime
from automation.config import PLACEHOLDER_SITE, get_settings, reset_settings
from automation.errors import ConfigError

# Outside the embedded default, and nothing listens there: a refusal must come first.
PRODUCTION = {
    "AUTOMATION_DATABASE_URL": "postgresql://automation@127.0.0.1:9/automation",
    "AUTOMATION_SECRET_KEY": "a-real-secret",
    "AUTOMATION_SITE_URL": "https://www.kyobo.example.kr",
    "AUTOMATION_PUBLIC_URL": "https://crm.kyobo.example.kr",
}


def _run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOMATION_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "automation.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _refused(proc: subprocess.CompletedProcess[str], says: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert says in proc.stderr


def test_serve_refuses_an_http_public_url_outside_the_embedded_default(tmp_path: Path) -> None:
    env = PRODUCTION | {"AUTOMATION_PUBLIC_URL": "http://crm.kyobo.example.kr"}
    _refused(_run("serve", cwd=tmp_path, env=env), "AUTOMATION_PUBLIC_URL must be https://")


def test_serve_refuses_to_start_without_a_site_url(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "AUTOMATION_SITE_URL"}
    _refused(_run("serve", cwd=tmp_path, env=env), "AUTOMATION_SITE_URL is required")


def test_a_broker_other_than_the_stub_is_outside_the_embedded_default_too(
    tmp_path: Path,
) -> None:
    env = {
        "AUTOMATION_BROKER_URL": "amqp://guest:guest@127.0.0.1:9/%2F",
        "AUTOMATION_SECRET_KEY": "a-real-secret",
        "AUTOMATION_SITE_URL": "https://www.kyobo.example.kr",
    }
    _refused(_run("worker", cwd=tmp_path, env=env), "AUTOMATION_PUBLIC_URL must be https://")


def test_serve_refuses_an_unusable_dkim_key(tmp_path: Path) -> None:
    key = tmp_path / "dkim.pem"
    key.write_text("not a key\n")
    env = PRODUCTION | {
        "AUTOMATION_DKIM_PRIVATE_KEY": str(key),
        "AUTOMATION_DKIM_SELECTOR": "crm2026",
    }
    _refused(_run("serve", cwd=tmp_path, env=env), "is not a PEM RSA private key")


def test_http_may_be_allowed_explicitly_behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AUTOMATION_PUBLIC_URL", "http://crm.internal:8000")
    reset_settings()
    with pytest.raises(ConfigError, match="ALLOW_HTTP_PUBLIC_URL=true"):
        get_settings().check_serving()
    monkeypatch.setenv("AUTOMATION_ALLOW_HTTP_PUBLIC_URL", "true")
    reset_settings()
    get_settings().check_serving()  # no refusal


def test_the_embedded_default_serves_on_http_with_a_placeholder_site() -> None:
    settings = get_settings()
    assert settings.is_embedded and settings.public_url.startswith("http://")
    settings.check_serving()  # no refusal
    assert settings.site == PLACEHOLDER_SITE == "https://www.example.com"


def test_scheduler_status_fits_80_columns_without_cutting_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    from automation.scheduler import state

    seoul = pendulum.datetime(2026, 11, 22, 9, 5, tz="Asia/Seoul")
    for job in ("maturity", "anniversaries", "activity", "consent", "segments", "timers"):
        state.ran(job, 1234567, at=seoul)
    for zone in ("Asia/Seoul", "America/Argentina/Buenos_Aires"):
        state.day_done("anniversaries", zone, date(2026, 11, 21), 42)
    console = Console(width=80, force_terminal=False, color_system=None, record=True)
    monkeypatch.setattr(runtime, "out", console)

    result = runner.invoke(app, ["scheduler", "--status"])

    assert result.exit_code == 0, result.output
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text
    assert text.count("2026-11-22 09:05") == 6  # in the business zone, whole, on one line
    assert text.count("2026-11-21") == 2
    assert "1,234,567" in text
    assert any(line.startswith("relay") and "never" in line for line in lines)
    assert "Asia/Seoul" in text
