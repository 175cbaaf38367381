"""The journeys resource API: the list with customers per state, one journey's versions,
publishing a YAML file (a refused one answers its ``FILE:LINE`` problems), pause and
resume as the engine feels them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from automation.api import keys
from automation.journeys.registry import builtin_files
from tests.api.routes.test_customers_api import resource_app, signed_in
from tests.journey_world import World

WELCOME = next(p for p in builtin_files() if p.stem == "welcome").read_text(encoding="utf-8")
GOOD = WELCOME.replace("after: {wait: 3d, to: tips}", "after: {wait: 2d, to: tips}")
BROKEN = WELCOME.replace("after: {wait: 3d, to: tips}", "after: {wait: soon, to: tips}")
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(resource_app())


@pytest.fixture
def ops(database: str) -> dict[str, str]:
    return {"X-API-Key": keys.create_key("admin", "ops-kim")}


def test_the_list_and_a_journey_show_customers_per_version_and_state(
    client: TestClient, ops: dict[str, str]
) -> None:
    world = World()
    world.customer("C1")
    world.send("signup", "C1")

    listed = client.get("/v1/journeys", headers=ops)
    shown = client.get("/v1/journeys/welcome", headers=ops)

    assert listed.status_code == 200
    by_id = {j["journey"]: j for j in listed.json()["journeys"]}
    assert {p.stem for p in builtin_files()} <= set(by_id)
    assert by_id["welcome"]["status"] == "active" and by_id["welcome"]["latest_version"] == 1
    assert by_id["welcome"]["customers"] == {"v1": {"thanks": 1}}
    body = shown.json()
    assert [(v["version"], v["customers"], v["total"]) for v in body["versions"]] == [
        (1, {"thanks": 1}, 1)
    ]
    assert body["source"] == WELCOME
    assert client.get("/v1/journeys/nope", headers=ops).status_code == 404


def test_publishing_a_good_file_makes_version_2_and_a_broken_one_says_where(
    client: TestClient, ops: dict[str, str]
) -> None:
    World()
    url = "/v1/journeys?name=welcome-v2.yaml"

    broken = client.post(url, content=BROKEN.encode(), headers=ops | YAML)
    good = client.post(url, content=GOOD.encode(), headers=ops | YAML)
    same = client.post(url, content=GOOD.encode(), headers=ops | {"Content-Type": "text/plain"})

    assert broken.status_code == 422
    assert any(p.startswith("welcome-v2.yaml:14:") for p in broken.json()["problems"])
    assert good.status_code == 201, good.text
    assert good.json() == {"journey": "welcome", "version": 2, "created": True}
    assert same.status_code == 200 and same.json()["version"] == 2
    assert same.json()["created"] is False
    versions = client.get("/v1/journeys/welcome", headers=ops).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert client.get("/v1/journeys/welcome", headers=ops).json()["source"] == GOOD


def test_a_file_that_is_not_text_or_too_large_is_refused(
    client: TestClient, ops: dict[str, str]
) -> None:
    World(builtin=False)
    binary = client.post(
        "/v1/journeys", content=b"journey: w\nname: \xff\xfe\n", headers=ops | YAML
    )
    empty = client.post("/v1/journeys", content=b"", headers=ops | YAML)
    huge = client.post("/v1/journeys", content=b"#" * (256 * 1024 + 1), headers=ops | YAML)
    escape = client.post("/v1/journeys", content=b"journey: w\nname: \x1b\n", headers=ops | YAML)

    assert binary.status_code == 422 and binary.json()["problems"] == [
        "journey.yaml:2: not UTF-8 (invalid start byte)"
    ]
    assert (
        empty.status_code == 422 and "journey.yaml:1: the file is empty" in empty.json()["problems"]
    )
    assert huge.status_code == 413
    assert escape.status_code == 422 and escape.json()["problems"] == [
        "journey.yaml:2: not valid YAML: character #x001b is not allowed"
    ]
    assert client.get("/v1/journeys", headers=ops).json() == {"journeys": []}


def test_a_paused_journey_takes_no_one_until_resumed(
    client: TestClient, ops: dict[str, str]
) -> None:
    world = World()

    paused = client.post("/v1/journeys/welcome/pause", headers=ops)
    world.customer("C1")
    world.send("signup", "C1")

    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert world.enrollments("welcome", "C1") == []
    resumed = client.post("/v1/journeys/welcome/resume", headers=ops)
    world.customer("C2")
    world.send("signup", "C2")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert world.enrollment("welcome", "C2").state == "thanks"
    assert client.post("/v1/journeys/nope/pause", headers=ops).status_code == 404


def test_a_marketer_publishes_with_the_session_token_and_an_agent_cannot_read(
    database: str,
) -> None:
    World()
    marketer, csrf = signed_in("marketer", "mia")
    agent, _ = signed_in("agent", "lee")

    without = marketer.post("/v1/journeys", content=GOOD.encode(), headers=YAML)
    published = marketer.post(
        "/v1/journeys", content=GOOD.encode(), headers=YAML | {"X-CSRF-Token": csrf}
    )
    paused = marketer.post("/v1/journeys/welcome/pause", headers={"X-CSRF-Token": csrf})

    assert without.status_code == 403
    assert published.status_code == 201 and published.json()["version"] == 2
    assert paused.json()["status"] == "paused"
    assert agent.get("/v1/journeys").status_code == 403
    assert TestClient(resource_app()).get("/v1/journeys").status_code == 401
