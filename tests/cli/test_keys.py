"""``automation keys list`` and ``revoke``: keys managed without editing the database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from automation.api import create_app, keys
from automation.cli import app as cli
from automation.config import reset_settings

runner = CliRunner()


def _events(client: TestClient, key: str) -> int:
    body = {"event_id": "e1", "type": "page_view", "visitor_id": "v1", "properties": {"url": "/"}}
    return client.post("/v1/events", json=body, headers={"X-API-Key": key}).status_code


def test_list_shows_each_key_but_never_the_key(database: str) -> None:
    site = keys.create_key("ingest", "website")
    keys.create_key("system", "core-policy")
    result = runner.invoke(cli, ["keys", "list"])
    assert result.exit_code == 0, result.output
    for text in ("website", "ingest", "core-policy", "system", "created", "revoked"):
        assert text in result.output
    assert site not in result.output and site[:12] not in result.output


def test_revoke_by_name_refuses_the_key_at_once_in_this_process(database: str) -> None:
    client = TestClient(create_app())
    site = keys.create_key("ingest", "website")
    assert _events(client, site) == 202  # cached as valid now
    result = runner.invoke(cli, ["keys", "revoke", "website"])
    assert result.exit_code == 0, result.output
    assert "revoked key 1 (website, ingest)" in result.output and "within 30 s" in result.output
    assert _events(client, site) == 401
    listed = runner.invoke(cli, ["keys", "list"]).output
    [row] = [line for line in listed.splitlines() if "website" in line]
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)) == 2  # created, revoked
    again = runner.invoke(cli, ["keys", "revoke", "1"])
    assert again.exit_code == 0 and "already revoked" in again.output


def test_revoke_refuses_an_ambiguous_or_unknown_name(database: str) -> None:
    keys.create_key("agent", "agent-kim")
    keys.create_key("agent", "agent-kim")  # a rotation under way
    ambiguous = runner.invoke(cli, ["keys", "revoke", "agent-kim"])
    assert ambiguous.exit_code == 1 and "(ids 1, 2): revoke by id" in ambiguous.output
    assert runner.invoke(cli, ["keys", "revoke", "2"]).exit_code == 0
    assert runner.invoke(cli, ["keys", "revoke", "agent-kim"]).exit_code == 0
    unknown = runner.invoke(cli, ["keys", "revoke", "nobody"])
    assert unknown.exit_code == 1 and "no API key with the id or name 'nobody'" in unknown.output


def test_another_process_refuses_a_revoked_key_within_the_cache_lifetime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/automation.db"
    monkeypatch.setenv("AUTOMATION_DATABASE_URL", url)
    monkeypatch.setenv("AUTOMATION_API_KEY_CACHE_SECONDS", "1")
    reset_settings()
    from automation.db.migrate import upgrade

    upgrade("head", database_url=url)
    client = TestClient(create_app())  # the API process
    site = keys.create_key("ingest", "website")
    assert _events(client, site) == 202
    env = dict(os.environ)
    revoke = subprocess.run(
        [sys.executable, "-m", "automation.cli", "keys", "revoke", "website"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert revoke.returncode == 0, revoke.stderr
    assert "within 1 s" in revoke.stdout
    time.sleep(1.1)
    assert _events(client, site) == 401
