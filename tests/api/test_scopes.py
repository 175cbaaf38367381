"""Key scopes on ``POST /v1/events``: the site sends behaviour, the engine's facts come
from the engine, an import or a system key."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from automation import db
from automation.api import create_app, keys
from automation.api.scopes import ENGINE_TYPES, SITE_TYPES, is_engine_type
from automation.cli import app as cli
from automation.events.schema import CORE_TYPES
from automation.models import Event
from automation.worker.process import process_events
from tests.helpers import customer, ev, events_by_id, policies_of

FORGED = [
    ev("f-bounce", "email_bounced", customer_id="C1"),
    ev("f-unsub", "unsubscribed", customer_id="C1"),
    ev("f-call", "call_completed", customer_id="C1", properties={"outcome": "do_not_call"}),
    ev("f-buy", "policy_purchased", customer_id="C1", properties={"policy_id": "P9"}),
]


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(create_app())


def _post(client: TestClient, key: str, events: list[dict[str, Any]]) -> Any:
    return client.post("/v1/events", json={"events": events}, headers={"X-API-Key": key})


def _process_all() -> None:
    with db.get_engine().connect() as conn:
        pks = list(conn.execute(select(Event.id)).scalars())  # type: ignore[call-overload]
    process_events(pks)


def test_the_sites_key_cannot_forge_the_engines_facts(client: TestClient) -> None:
    site = keys.create_key("ingest", "website")
    signup = ev("s1", "signup", visitor_id="v1", customer_id="C1")
    answer = _post(client, site, [signup, *FORGED, ev("p1", visitor_id="v1")])
    assert answer.status_code == 422
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (2, 4)
    results = body["results"]
    assert [r["status"] for r in results] == ["accepted", *["rejected"] * 4, "accepted"]
    assert [r["index"] for r in results] == list(range(6))
    assert results[1]["errors"] == ["an ingest key cannot send email_bounced; use a system key"]
    assert results[4]["event_id"] == "f-buy" and "policy_purchased" in results[4]["errors"][0]
    assert sorted(events_by_id()) == ["p1", "s1"]  # the rest of the batch is stored
    _process_all()
    c = customer("C1")
    assert c is not None
    assert not {"hard_bounced", "unsubscribed", "do_not_call"} & set(c.attributes)
    assert c.lifecycle_stage == "member" and policies_of("C1") == []


def test_a_system_key_posts_purchases_and_admin_anything(client: TestClient) -> None:
    system = keys.create_key("system", "core-policy-system")
    answer = _post(client, system, [FORGED[3], ev("p2", customer_id="C1")])
    assert answer.status_code == 202, answer.text
    assert _post(client, keys.create_key("admin"), [FORGED[0]]).status_code == 202
    _process_all()
    assert [p.policy_id for p in policies_of("C1")] == ["P9"]


def test_namespaced_variants_are_the_engines_and_custom_types_the_sites(
    client: TestClient,
) -> None:
    site = keys.create_key("ingest", "website")
    refused = ["sms.failed", "journey_step", "segment:entered", "ad_consent_given", "timer_fired"]
    allowed = ["newsletter_form", "faq_search", "cart.abandoned"]
    events = [ev(t, t, visitor_id="v1") for t in refused + allowed]
    answer = _post(client, site, events).json()
    statuses = {r["event_id"]: r["status"] for r in answer["results"]}
    assert {t for t, s in statuses.items() if s == "rejected"} == set(refused)


def test_every_core_type_is_either_the_sites_or_the_engines() -> None:
    assert set(CORE_TYPES) <= SITE_TYPES | ENGINE_TYPES
    assert not SITE_TYPES & ENGINE_TYPES
    assert not any(is_engine_type(t) for t in SITE_TYPES)
    assert all(is_engine_type(t) for t in ENGINE_TYPES)


def test_an_agent_key_cannot_post_events(client: TestClient) -> None:
    agent = keys.create_key("agent", "agent-kim")
    assert _post(client, agent, [ev("p1", visitor_id="v1")]).status_code == 403


def test_keys_create_accepts_the_system_scope(database: str) -> None:
    result = CliRunner().invoke(cli, ["keys", "create", "system", "--name", "core"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("ak_system_")
    bad = CliRunner().invoke(cli, ["keys", "create", "root"])
    assert bad.exit_code == 1 and "ingest, admin, agent, system" in bad.output
