"""The personalization routes over HTTP: who may ask, what a bad question gets, and the
offer rules published and reported by an operator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from automation.api import create_app, keys
from automation.db import session_scope
from automation.models import Customer
from automation.personalize import shelf, store

GOOD = """\
holdout: 0
rules:
  - rule: all-signup
    audience: anonymous
    slot: side
    offers:
      - {offer: signup, url: /signup, text: 가입}
"""


@pytest.fixture
def client(database: str) -> Iterator[TestClient]:
    shelf.forget()
    store.forget()
    yield TestClient(create_app())
    shelf.forget()
    store.forget()


def test_the_site_asks_with_its_key_and_gets_slots(client: TestClient) -> None:
    site = {"X-API-Key": keys.create_key("ingest", "website")}
    store.publish_text(GOOD, "offers.yaml", by="t")
    with session_scope() as s:
        s.add(Customer(customer_id="C1", name="김하나"))
    assert client.get("/v1/personalize?visitor_id=v1").status_code == 401
    answer = client.get("/v1/personalize?visitor_id=v1&slots=side,banner", headers=site)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body["slots"]) == {"side", "banner"} and body["person"]["known"] is False
    assert body["slots"]["side"][0]["key"] == "signup" and body["slots"]["side"][0]["token"]
    known = client.get("/v1/personalize?customer_id=C1&slots=banner", headers=site).json()
    assert known["slots"]["banner"][0]["text"].startswith("김하나님")
    for query, status, says in [
        ("", 422, "give visitor_id"),
        ("?visitor_id=v1&slots=footer", 422, "unknown slot footer"),
        ("?customer_id=NOBODY", 404, "no customer"),
    ]:
        bad = client.get(f"/v1/personalize{query}", headers=site)
        assert bad.status_code == status and says in bad.json()["detail"], query


def test_an_operator_publishes_rules_and_reads_what_they_earned(client: TestClient) -> None:
    ops = {"X-API-Key": keys.create_key("admin", "ops-kim")}
    site = {"X-API-Key": keys.create_key("ingest", "website")}
    assert client.post("/v1/offers", content=GOOD, headers=site).status_code == 403
    first = client.post("/v1/offers?name=offers.yaml", content=GOOD, headers=ops)
    assert first.status_code == 201 and first.json() == {"version": 1, "changed": True}
    broken = client.post(
        "/v1/offers?name=mine.yaml", content=GOOD.replace("side", "footer"), headers=ops
    )
    assert broken.status_code == 422
    assert broken.json()["problems"] == ["mine.yaml:5: slot: one of hero, side, banner, content"]
    again = client.post("/v1/offers", content=GOOD.replace("가입", "회원가입"), headers=ops)
    assert again.json() == {"version": 2, "changed": True}
    shown = client.get("/v1/offers", headers=ops).json()
    assert shown["version"] == 2 and [v["published_by"] for v in shown["versions"]] == [
        "ops-kim",
        "ops-kim",
    ]
    assert shown["rules"][0]["offers"][0]["text"] == "회원가입"
    report = client.get("/v1/reports/offers?from=2026-01-01&to=2026-01-31", headers=ops)
    assert report.status_code == 200 and report.json()["rules"] == []
    assert client.get("/v1/reports/offers?from=nope", headers=ops).status_code == 422
