"""Review items and channel pauses through the API (admin key), as the console and
scripts drive them: a message left between send and record is resolved once, as sent
or resent, and a paused channel holds its messages until resumed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from automation import clock
from automation.api import create_app, keys
from automation.db import session_scope
from automation.delivery.backlog import relay_messages
from automation.delivery.deliver import deliver
from automation.models import Event
from tests.journey_world import World
from tests.review_items import in_review, message_row, queued_message


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(create_app())


@pytest.fixture
def ops(database: str) -> dict[str, str]:
    return {"X-API-Key": keys.create_key("admin", "ops-park")}


def _sent_events() -> list[str]:
    with session_scope() as s:
        return list(s.exec(select(Event.event_id).where(Event.type == "email_sent")).all())


def test_review_lists_the_item_and_resolving_sent_records_it_once(
    client: TestClient, ops: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    World(builtin=False).customer("C1")
    claimed = clock.now()
    mid = in_review(monkeypatch)

    listed = client.get("/v1/messages/review", headers=ops)

    assert listed.status_code == 200
    [item] = listed.json()["messages"]
    assert (item["id"], item["customer_id"], item["channel"]) == (mid, "C1", "email")
    assert item["look_for"].startswith("<") and item["look_for"].endswith(">")
    assert item["claimed_at"] == claimed.isoformat()
    body = {"outcome": "sent", "reason": "postfix: status=sent"}
    done = client.post(f"/v1/messages/{mid}/resolve", json=body, headers=ops)
    assert done.status_code == 200, done.text
    row = message_row(mid)
    assert row.status == "sent" and row.reason == "resolved sent by ops-park: postfix: status=sent"
    assert _sent_events() == [f"sent:{mid}"]
    again = client.post(f"/v1/messages/{mid}/resolve", json=body, headers=ops)
    assert again.status_code == 409 and "is sent, not in review" in again.json()["detail"]
    assert _sent_events() == [f"sent:{mid}"]
    assert client.get("/v1/messages/review", headers=ops).json() == {"messages": []}


def test_resolving_resend_sends_it_once(
    client: TestClient, ops: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    World(builtin=False).customer("C1")
    mid = in_review(monkeypatch)
    [eml] = (tmp_path / "outbox" / "email").glob("*.eml")
    eml.unlink()  # the server never had it

    body = {"outcome": "resend", "reason": "not in the relay's log"}
    done = client.post(f"/v1/messages/{mid}/resolve", json=body, headers=ops)

    assert done.status_code == 200 and done.json()["resolved"] == "resend"
    assert relay_messages() == 1
    assert deliver(mid).status == "sent" and deliver(mid).status == "skipped"
    assert len(list((tmp_path / "outbox" / "email").glob("*.eml"))) == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "said"),
    [
        ("/v1/messages/999/resolve", {"outcome": "sent", "reason": "x"}, 404, "no message 999"),
        ("/v1/messages/1/resolve", {"outcome": "resend", "reason": "x"}, 409, "is queued"),
        ("/v1/messages/1/resolve", {"outcome": "maybe", "reason": "x"}, 422, "outcome"),
        ("/v1/messages/1/resolve", {"outcome": "sent", "reason": ""}, 422, "reason"),
        ("/v1/messages/1/resolve", {"outcome": "sent", "reason": "a\u0000"}, 422, "reason"),
        ("/v1/messages/2147483648/resolve", {"outcome": "sent", "reason": "x"}, 422, "id"),
        ("/v1/channels/fax/pause", {}, 404, "no channel 'fax'"),
        ("/v1/channels/email/pause", {"seconds": 0}, 422, "seconds"),
    ],
)
def test_refusals_say_why_and_change_nothing(
    client: TestClient, ops: dict[str, str], path: str, body: object, status: int, said: str
) -> None:
    World(builtin=False).customer("C1")
    mid = queued_message()  # id 1, queued: not in review
    answer = client.post(path, json=body, headers=ops)
    assert answer.status_code == status and said in answer.text
    assert message_row(mid).status == "queued"


def test_only_an_admin_key_resolves_or_pauses(client: TestClient, database: str) -> None:
    World(builtin=False).customer("C1")
    queued_message()
    site = {"X-API-Key": keys.create_key("ingest", "site")}
    agent = {"X-API-Key": keys.create_key("agent", "agent-kim")}
    for headers in (site, agent):
        assert client.get("/v1/messages/review", headers=headers).status_code == 403
        assert client.post("/v1/channels/email/pause", json={}, headers=headers).status_code == 403
    assert client.get("/v1/channels").status_code == 401


def test_pause_holds_e_mail_and_resume_releases_it(
    client: TestClient, ops: dict[str, str], tmp_path: Path
) -> None:
    World(builtin=False).customer("C1")
    mid = queued_message()
    paused = client.post(
        "/v1/channels/email/pause", json={"reason": "relay migration"}, headers=ops
    )
    assert paused.status_code == 200
    assert paused.json()["paused"]["by"] == "ops-park" and paused.json()["paused"]["until"] is None

    assert deliver(mid).status == "deferred"
    assert not (tmp_path / "outbox" / "email").exists()
    states = {c["channel"]: c for c in client.get("/v1/channels", headers=ops).json()["channels"]}
    assert states["email"]["paused"]["reason"] == "relay migration"
    assert states["email"]["waiting"] == 1 and states["sms"]["paused"] is None

    resumed = client.post("/v1/channels/email/resume", headers=ops)
    assert resumed.json() == {"channel": "email", "was_paused": True, "released": 1}
    assert relay_messages() == 1 and deliver(mid).status == "sent"
