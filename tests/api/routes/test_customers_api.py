"""The customers resource API, as an operator's script (admin key) and the console (a
session cookie) use it: one customer's whole profile, search, the timeline a page at a
time, and consent changes recorded as events with their source."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from automation import clock
from automation.api import keys
from automation.api.app import create_app
from automation.console import session
from automation.console.users import create_user
from automation.db import session_scope
from automation.models import ConsentChange, Customer, Event
from tests.journey_world import START, World

PASSWORD = "correct horse battery staple"


def resource_app() -> FastAPI:
    """The application, as ``automation serve`` runs it."""
    return create_app()


def signed_in(role: str, name: str) -> tuple[TestClient, str]:
    """A client with a console session for a new ``role`` person, and its CSRF token."""
    create_user(name, role, PASSWORD)
    http = TestClient(resource_app())
    form = re.search(r'name="csrf" value="([^"]+)"', http.get("/login").text)
    assert form is not None
    answer = http.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf": form.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    data = session.read(http.cookies.get(session.COOKIE))
    assert data is not None
    return http, data.csrf


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(resource_app())


@pytest.fixture
def ops(database: str) -> dict[str, str]:
    return {"X-API-Key": keys.create_key("admin", "ops-kim")}


def _known_customer() -> World:
    """C1: consents with dates, a policy, a signup (the welcome journey) and views."""
    world = World()
    given = START.subtract(days=30)
    world.customer(
        "C1",
        mobile="010-1234-5678",
        email_consent_at=given,
        email_consent_source="import",
    )
    world.policy("P1", "C1", START.date() + timedelta(days=20))
    world.send("signup", "C1")
    for n in range(3):
        clock.advance(timedelta(minutes=5))
        world.send("content_view", "C1", content="교육자금", category="education", n=n)
    clock.advance(timedelta(minutes=5))
    world.send("product_view", "C1", product="EDU-CARE")
    return world


def test_a_known_customer_s_profile_has_everything_an_operator_needs(
    client: TestClient, ops: dict[str, str]
) -> None:
    _known_customer()

    answer = client.get("/v1/customers/C1", headers=ops)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["customer_id"] == "C1"
    assert body["profile"]["name"] == "김민서" and body["profile"]["lifecycle_stage"] == "member"
    email = next(c for c in body["consents"] if c["kind"] == "email")
    assert email["granted"] is True and email["source"] == "import"
    assert email["at"] == START.subtract(days=30).in_tz("UTC").isoformat()
    assert {c["kind"] for c in body["consents"]} == {"email", "sms", "call", "ad", "night"}
    assert [p["policy_id"] for p in body["report"]["policies"]] == ["P1"]
    assert body["preferences"]["content"][0]["key"] == "교육자금"
    assert isinstance(body["prospect"]["score"], int | float)
    assert isinstance(body["prospect"]["reasons"], list)
    [welcome] = [j for j in body["journeys"] if j["journey_id"] == "welcome"]
    assert (welcome["version"], welcome["state"], welcome["status"]) == (1, "thanks", "active")
    assert welcome["entered_at"] == START.in_tz("UTC").isoformat()
    types = [e["type"] for e in body["recent_events"]]
    assert types == ["product_view", "content_view", "content_view", "content_view", "signup"]
    assert all(e["processed"] for e in body["recent_events"])
    assert any("만기 D-20" in point for point in body["talking_points"])


def test_an_unknown_customer_is_a_404(client: TestClient, ops: dict[str, str]) -> None:
    assert client.get("/v1/customers/NOBODY", headers=ops).status_code == 404
    assert client.get("/v1/customers/NOBODY/events", headers=ops).status_code == 404
    assert client.get(f"/v1/customers/{'x' * 65}", headers=ops).status_code == 422


def test_search_finds_by_phone_digits_and_name(client: TestClient, ops: dict[str, str]) -> None:
    world = World(builtin=False)
    world.customer("C1", mobile="010-1234-5678")
    world.customer("C2", name="박서준", mobile="010-9999-0000")

    by_phone = client.get("/v1/customers", params={"q": "01012345678"}, headers=ops)
    by_name = client.get("/v1/customers", params={"q": "박서"}, headers=ops)
    nobody = client.get("/v1/customers", params={"q": "최"}, headers=ops)

    assert [c["customer_id"] for c in by_phone.json()["customers"]] == ["C1"]
    assert [c["customer_id"] for c in by_name.json()["customers"]] == ["C2"]
    assert nobody.json() == {"customers": []}
    assert client.get("/v1/customers", headers=ops).status_code == 422  # q is needed


def _page_through(client: TestClient, ops: dict[str, str], limit: int) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        answer = client.get("/v1/customers/C1/events", params=params, headers=ops)
        assert answer.status_code == 200, answer.text
        pages.append([e["id"] for e in answer.json()["events"]])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return pages


def test_the_timeline_pages_newest_first_without_repeats_or_gaps(
    client: TestClient, ops: dict[str, str]
) -> None:
    world = World(builtin=False)
    world.customer("C1")
    for n in range(4):
        world.send("page_view", "C1", url=f"/p{n}")  # four in the same instant: by row id
    clock.advance(timedelta(hours=1))
    for n in range(3):
        clock.advance(timedelta(minutes=1))
        world.send("page_view", "C1", url=f"/q{n}")
    world.customer("C2")
    world.send("page_view", "C2", url="/other")
    with session_scope() as s:
        rows = s.exec(select(Event).where(Event.customer_id == "C1")).all()
        expected = [e.id for e in sorted(rows, key=lambda e: (e.occurred_at, e.id), reverse=True)]

    pages = _page_through(client, ops, limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == expected
    # A new event while someone pages: the next page neither repeats nor skips.
    first = client.get("/v1/customers/C1/events", params={"limit": 3}, headers=ops).json()
    clock.advance(timedelta(minutes=1))
    world.send("page_view", "C1", url="/new")
    second = client.get(
        "/v1/customers/C1/events", params={"limit": 3, "cursor": first["next_cursor"]}, headers=ops
    )
    assert [e["id"] for e in second.json()["events"]] == expected[3:6]
    bad = client.get("/v1/customers/C1/events", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=ops)
    assert bad.status_code == 422


def _consent_rows() -> tuple[Customer, list[Event], list[ConsentChange]]:
    with session_scope() as s:
        customer = s.get(Customer, "C1")
        assert customer is not None
        events = list(s.exec(select(Event).where(Event.type == "consent_changed")))
        changes = list(s.exec(select(ConsentChange).order_by(col(ConsentChange.kind))))
        return customer, events, changes


def test_a_consent_change_is_an_event_with_its_source_applied_before_the_answer(
    client: TestClient, ops: dict[str, str]
) -> None:
    World(builtin=False).customer("C1", email_consent=True, ad_consent=False)
    clock.advance(timedelta(days=1))

    body = {"consents": {"email": False, "ad": True}, "source": "phone"}
    answer = client.patch("/v1/customers/C1/consents", json=body, headers=ops)

    assert answer.status_code == 200, answer.text
    shown = {c["kind"]: c for c in answer.json()["consents"]}
    assert shown["email"]["granted"] is False and shown["email"]["source"] == "phone"
    assert shown["ad"]["granted"] is True and shown["ad"]["at"] == clock.now().isoformat()
    assert answer.json()["by"] == "ops-kim"
    customer, events, changes = _consent_rows()
    assert (customer.email_consent, customer.ad_consent) == (False, True)
    assert customer.ad_consent_source == "phone"
    assert sorted((e.properties["kind"], e.properties["granted"]) for e in events) == [
        ("ad", True),
        ("email", False),
    ]
    assert all(e.properties["by"] == "ops-kim" and e.processed_at for e in events)
    assert [(c.kind, c.granted, c.source) for c in changes] == [
        ("ad", True, "phone"),
        ("email", False, "phone"),
    ]
    # Without a source, the change is the operator's own.
    again = client.patch(
        "/v1/customers/C1/consents", json={"consents": {"sms": False}}, headers=ops
    )
    assert again.status_code == 200
    assert _consent_rows()[0].sms_consent_source == "ops-kim"
    timeline = client.get("/v1/customers/C1/events", headers=ops).json()["events"]
    assert [e["type"] for e in timeline].count("consent_changed") == 3


def test_a_bad_consent_change_is_refused_and_records_nothing(
    client: TestClient, ops: dict[str, str]
) -> None:
    World(builtin=False).customer("C1", email_consent=True)

    fax = client.patch("/v1/customers/C1/consents", json={"consents": {"fax": True}}, headers=ops)
    word = client.patch("/v1/customers/C1/consents", json={"consents": {"sms": "yes"}}, headers=ops)
    nobody = client.patch(
        "/v1/customers/NOBODY/consents", json={"consents": {"email": False}}, headers=ops
    )

    assert fax.status_code == 422 and "unknown consent kind 'fax'" in fax.json()["detail"]
    assert word.status_code == 422
    assert nobody.status_code == 404
    customer, events, changes = _consent_rows()
    assert customer.email_consent is True and events == [] and changes == []
    with session_scope() as s:
        assert s.get(Customer, "NOBODY") is None


def test_who_may_read_and_change_a_customer(client: TestClient, database: str) -> None:
    World(builtin=False).customer("C1", email_consent=True, birth_date=date(1988, 5, 17))
    withdraw = {"consents": {"email": False}}
    ingest_key = {"X-API-Key": keys.create_key("ingest", "site")}

    assert client.get("/v1/customers/C1").status_code == 401
    assert client.get("/v1/customers/C1", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/v1/customers/C1", headers=ingest_key).status_code == 403
    agent, agent_csrf = signed_in("agent", "lee")
    assert agent.get("/v1/customers/C1").status_code == 403
    manager, manager_csrf = signed_in("manager", "han")
    assert manager.get("/v1/customers/C1").status_code == 200
    headers = {"X-CSRF-Token": manager_csrf}
    assert (
        manager.patch("/v1/customers/C1/consents", json=withdraw, headers=headers).status_code
        == 403
    )

    marketer, csrf = signed_in("marketer", "mia")
    assert marketer.get("/v1/customers/C1").json()["profile"]["name"] == "김민서"
    refused = marketer.patch("/v1/customers/C1/consents", json=withdraw)
    forged = marketer.patch(
        "/v1/customers/C1/consents", json=withdraw, headers={"X-CSRF-Token": agent_csrf}
    )
    assert refused.status_code == forged.status_code == 403
    assert _consent_rows()[0].email_consent is True
    done = marketer.patch(
        "/v1/customers/C1/consents", json=withdraw, headers={"X-CSRF-Token": csrf}
    )
    assert done.status_code == 200 and done.json()["by"] == "mia"
    customer = _consent_rows()[0]
    assert customer.email_consent is False and customer.email_consent_source == "mia"


def test_consent_given_again_after_an_unsubscribe_ends_the_opt_out(
    client: TestClient, ops: dict[str, str]
) -> None:
    world = World(builtin=False)
    world.customer("C1", email_consent=True)
    world.send("unsubscribed", "C1", channel="email")
    assert _consent_rows()[0].attributes.get("unsubscribed")
    clock.advance(timedelta(days=1))
    body = {"consents": {"email": True}, "source": "phone"}
    assert client.patch("/v1/customers/C1/consents", json=body, headers=ops).status_code == 200
    customer = _consent_rows()[0]
    assert customer.email_consent is True and "unsubscribed" not in customer.attributes
