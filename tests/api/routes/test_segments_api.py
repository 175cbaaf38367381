"""The segments resource API: every segment with its size, one segment's definition and
history, and a refresh whose entries and exits a journey can use."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from automation.api import keys
from automation.db import session_scope
from automation.models import Customer, Event
from automation.segments.registry import publish_builtin
from tests.api.routes.test_customers_api import resource_app, signed_in


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(resource_app())


@pytest.fixture
def ops(database: str) -> dict[str, str]:
    return {"X-API-Key": keys.create_key("admin", "ops-kim")}


def _members(*ids: str) -> None:
    with session_scope() as s:
        for cid in ids:
            s.add(Customer(customer_id=cid, name=f"고객 {cid}"))


def _entered_events() -> list[str]:
    with session_scope() as s:
        rows = s.exec(select(Event.customer_id).where(Event.type == "segment_entered")).all()
        return sorted(r for r in rows if r)


def test_refresh_fills_a_segment_and_the_list_and_detail_show_it(
    client: TestClient, ops: dict[str, str]
) -> None:
    publish_builtin()
    _members("C1", "C2")

    first = client.post("/v1/segments/member/refresh", headers=ops)
    _members("C3")
    second = client.post("/v1/segments/member/refresh", headers=ops)

    assert first.status_code == 200, first.text
    assert first.json() == {
        "segment": "member",
        "members": 2,
        "entered": 2,
        "exited": 0,
        "events": 0,
    }
    assert second.json() == {
        "segment": "member",
        "members": 3,
        "entered": 1,
        "exited": 0,
        "events": 1,
    }
    assert _entered_events() == ["C3"]  # the first fill is silent; C3's entry is an event
    listed = {s["segment"]: s for s in client.get("/v1/segments", headers=ops).json()["segments"]}
    assert listed["member"]["members"] == 3 and listed["member"]["refreshed_at"]
    assert listed["vip"]["members"] == 0 and listed["vip"]["refreshed_at"] is None
    assert listed["member"]["definition"] == {"customer.lifecycle_stage": "member"}
    detail = client.get("/v1/segments/member", headers=ops).json()
    assert detail["members"] == 3 and detail["builtin"] is True
    history = detail["history"]
    assert history["changes"][0]["customer_id"] == "C3"
    assert history["changes"][0]["change"] == "entered"
    assert sorted(c["customer_id"] for c in history["changes"]) == ["C1", "C2", "C3"]
    assert (history["entered"], history["exited"]) == (3, 0)
    assert sum(d["entered"] for d in history["per_day"]) == 3


def test_an_unknown_segment_is_a_404(client: TestClient, ops: dict[str, str]) -> None:
    publish_builtin()
    assert client.get("/v1/segments/nope", headers=ops).status_code == 404
    assert client.post("/v1/segments/nope/refresh", headers=ops).status_code == 404
    assert client.get(f"/v1/segments/{'s' * 65}", headers=ops).status_code == 422


def test_a_marketer_refreshes_with_the_session_token_a_manager_only_reads(
    database: str,
) -> None:
    publish_builtin()
    _members("C1")
    marketer, csrf = signed_in("marketer", "mia")
    manager, manager_csrf = signed_in("manager", "han")

    assert manager.get("/v1/segments").status_code == 200
    refused = manager.post("/v1/segments/member/refresh", headers={"X-CSRF-Token": manager_csrf})
    no_token = marketer.post("/v1/segments/member/refresh")
    done = marketer.post("/v1/segments/member/refresh", headers={"X-CSRF-Token": csrf})

    assert refused.status_code == no_token.status_code == 403
    assert done.status_code == 200 and done.json()["members"] == 1
    ingest_key = {"X-API-Key": keys.create_key("ingest", "site")}
    assert TestClient(resource_app()).get("/v1/segments", headers=ingest_key).status_code == 403
