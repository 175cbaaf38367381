"""`automation messages …` as ops drive it: review items resolved as sent or resent,
and channel pauses."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from automation import clock
from automation.cli import app
from automation.db import session_scope
from automation.delivery.backlog import relay_messages
from automation.delivery.deliver import deliver
from automation.models import Event
from tests.journey_world import World
from tests.review_items import in_review, message_row, queued_message

runner = CliRunner()


def _sent_events() -> list[Event]:
    with session_scope() as s:
        return list(s.exec(select(Event).where(Event.type == "email_sent")).all())


def test_review_lists_what_to_look_for_in_the_servers_log(
    database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    World(builtin=False).customer("C1")
    claimed = clock.now()
    mid = in_review(monkeypatch)
    [eml] = (tmp_path / "outbox" / "email").glob("*.eml")
    mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)

    shown = runner.invoke(app, ["messages", "review", "--json"])

    assert shown.exit_code == 0, shown.output
    [item] = json.loads(shown.output)
    assert item["look_for"] == mail["Message-ID"]
    assert (item["id"], item["customer"], item["channel"]) == (mid, "C1", "email")
    assert (item["template"], item["journey"]) == ("welcome", "welcome")
    assert datetime.fromisoformat(item["claimed_at"]) == claimed
    assert item["claimed_at"].endswith("+09:00")  # in TIMEZONE
    table = runner.invoke(app, ["messages", "review"], env={"COLUMNS": "250"})
    assert mail["Message-ID"] in table.output and "resolve ID" in table.output


def test_resolved_as_sent_records_the_send_and_its_event_once(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    World(builtin=False).customer("C1")
    claimed = clock.now()
    mid = in_review(monkeypatch)
    args = ["messages", "resolve", str(mid), "--sent", "--reason", "postfix: status=sent Q1"]

    done = runner.invoke(app, args)

    assert done.exit_code == 0, done.output
    row = message_row(mid)
    assert (row.status, row.sent_at) == ("sent", claimed)
    assert row.reason and row.reason.endswith(": postfix: status=sent Q1")
    [event] = _sent_events()
    assert event.event_id == f"sent:{mid}" and event.occurred_at == claimed
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "is sent, not in review" in again.output
    assert len(_sent_events()) == 1
    assert deliver(mid).status == "skipped"
    assert "no message in review" in runner.invoke(app, ["messages", "review"]).output


def test_resolved_for_a_resend_is_offered_by_the_relay_and_sent_once(
    database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    World(builtin=False).customer("C1")
    mid = in_review(monkeypatch)
    [eml] = (tmp_path / "outbox" / "email").glob("*.eml")
    eml.unlink()  # as if the server never had it

    done = runner.invoke(app, ["messages", "resolve", str(mid), "--resend", "--reason", "no log"])

    assert done.exit_code == 0 and "queued" in done.output
    assert message_row(mid).status == "queued"
    assert relay_messages() == 1
    assert deliver(mid).status == "sent"
    assert deliver(mid).status == "skipped"
    assert len(list((tmp_path / "outbox" / "email").glob("*.eml"))) == 1
    assert [e.event_id for e in _sent_events()] == [f"sent:{mid}"]


def test_an_sms_in_review_shows_its_key_and_resolving_sent_emits_no_email_event(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    World(builtin=False).customer("C1", mobile="010-1234-5678")
    mid = in_review(monkeypatch, channel="sms")
    [item] = json.loads(runner.invoke(app, ["messages", "review", "--json"]).output)
    assert (item["channel"], item["look_for"]) == ("sms", "m1")
    done = runner.invoke(app, ["messages", "resolve", str(mid), "--sent", "--reason", "gw log"])
    assert done.exit_code == 0 and message_row(mid).status == "sent" and _sent_events() == []


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["resolve", "1", "--reason", "x"], "say --sent"),
        (["resolve", "1", "--sent", "--resend", "--reason", "x"], "say --sent"),
        (["resolve", "999", "--sent", "--reason", "x"], "no message 999"),
        (["resolve", "1", "--sent", "--reason", " "], "say why"),
        (["pause", "fax"], "no channel 'fax': one of email, sms, call"),
        (["resume", "fax"], "no channel 'fax'"),
    ],
)
def test_refusals_are_one_line(database: str, args: list[str], said: str) -> None:
    World(builtin=False).customer("C1")
    queued_message()  # id 1, queued: not in review
    result = runner.invoke(app, ["messages", *args])
    assert result.exit_code == 1 and said in result.output


def test_a_queued_message_is_not_resolved(database: str) -> None:
    World(builtin=False).customer("C1")
    mid = queued_message()
    result = runner.invoke(app, ["messages", "resolve", str(mid), "--resend", "--reason", "x"])
    assert result.exit_code == 1 and "is queued, not in review" in result.output
    assert message_row(mid).status == "queued"


def test_pause_holds_the_channel_and_resume_lets_the_messages_go(
    database: str, tmp_path: Path
) -> None:
    World(builtin=False).customer("C1")
    mid = queued_message()
    paused = runner.invoke(app, ["messages", "pause", "email", "--reason", "relay migration"])
    assert paused.exit_code == 0 and "email: paused until resumed" in paused.output
    status = runner.invoke(app, ["messages", "status"], env={"COLUMNS": "250"})
    assert "paused" in status.output and "relay migration" in status.output

    held = deliver(mid)
    assert (held.status, held.reason) == ("deferred", "channel_paused:email")
    assert not (tmp_path / "outbox" / "email").exists()
    clock.advance(timedelta(hours=1))  # a pause without an end holds it again and again
    assert relay_messages() == 1 and deliver(mid).status == "deferred"
    status = runner.invoke(app, ["messages", "status"], env={"COLUMNS": "250"})
    [email_row] = [ln for ln in status.output.splitlines() if ln.strip("│ ").startswith("email")]
    assert [c.strip() for c in email_row.split("│")][-3:-1] == ["1", "0"]  # waiting, in review

    resumed = runner.invoke(app, ["messages", "resume", "email"])
    assert resumed.exit_code == 0 and "email: resumed; 1 waiting messages due now" in resumed.output
    assert relay_messages() == 1
    assert deliver(mid).status == "sent" and message_row(mid).attempts == 1
    again = runner.invoke(app, ["messages", "resume", "email"])
    assert "was not paused" in again.output


def test_a_pause_for_a_time_ends_by_itself(database: str) -> None:
    World(builtin=False).customer("C1")
    paused = runner.invoke(app, ["messages", "pause", "sms", "--for", "600"])
    until = clock.now() + timedelta(seconds=600)
    assert paused.exit_code == 0, paused.output
    said = paused.output.strip().removeprefix("sms: paused until ")
    assert datetime.fromisoformat(said) == until.replace(microsecond=0)
    clock.advance(timedelta(seconds=601))
    status = runner.invoke(app, ["messages", "status"], env={"COLUMNS": "250"})
    assert all("paused" not in line for line in status.output.splitlines() if "sms" in line)
