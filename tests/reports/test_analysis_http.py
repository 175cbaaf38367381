"""GET /v1/reports/{weblog?segment=,segments,interest,products}: the admin key, the
figures as JSON, CSV and HTML, an unknown segment's 404, the OpenAPI examples."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from automation.api import create_app, keys
from tests.reports.analysis_world import seed

WEEK = "from=2026-11-16&to=2026-11-22"
KINDS = ("segments", "interest", "products")


@pytest.fixture
def client(database: str) -> TestClient:
    seed()
    return TestClient(create_app())


@pytest.fixture
def admin(database: str) -> dict[str, str]:
    return {"X-API-Key": keys.create_key("admin", "manager-kim")}


@pytest.mark.parametrize("kind", (*KINDS, "weblog"))
def test_an_admin_key_is_required(client: TestClient, kind: str) -> None:
    assert client.get(f"/v1/reports/{kind}?{WEEK}").status_code == 401
    wrong = {"X-API-Key": keys.create_key("ingest", "site")}
    assert client.get(f"/v1/reports/{kind}?{WEEK}", headers=wrong).status_code == 403


def test_the_figures(client: TestClient, admin: dict[str, str]) -> None:
    weblog = client.get(f"/v1/reports/weblog?{WEEK}&segment=young", headers=admin).json()
    assert (weblog["group_customers"], weblog["visitors"], weblog["page_views"]) == (5, 4, 9)
    segments = client.get(f"/v1/reports/segments?{WEEK}&segment=older", headers=admin).json()
    assert [(r["age_band"], r["gender"], r["members"]) for r in segments["rows"]] == [
        ("50s", "F", 1),
        ("unknown", "M", 1),
        ("all", "all", 2),
    ]
    interest = client.get(f"/v1/reports/interest?{WEEK}&days=3", headers=admin).json()
    older = {r["interest"]: r["converted"] for r in interest["rows"] if r["segment"] == "older"}
    assert interest["days"] == 3 and older == {
        "none": 0,
        "low": 0,
        "medium": 1,
        "high": 0,
        "all": 1,
    }
    products = client.get(f"/v1/reports/products?{WEEK}", headers=admin).json()
    assert products["never_bought"] == ["CHILD-CI"]
    assert [r["product"] for r in products["rows"]] == [
        "CHILD-CI",
        "EDU-CARE",
        "HOME-LOAN",
        "PENSION",
    ]


@pytest.mark.parametrize("kind", (*KINDS, "weblog"))
def test_csv_and_html(client: TestClient, admin: dict[str, str], kind: str) -> None:
    answer = client.get(f"/v1/reports/{kind}?{WEEK}&format=csv", headers=admin)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(answer.text)))
    assert header[0] == (
        "figure" if kind == "weblog" else "segment" if kind != "products" else "product"
    )
    page = client.get(f"/v1/reports/{kind}?{WEEK}&format=html", headers=admin)
    assert page.status_code == 200 and page.text.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("kind", (*KINDS, "weblog"))
def test_an_unknown_segment_is_404_naming_it(
    client: TestClient, admin: dict[str, str], kind: str
) -> None:
    answer = client.get(f"/v1/reports/{kind}?{WEEK}&segment=nobody", headers=admin)
    assert answer.status_code == 404
    assert answer.json()["detail"] == "no segment 'nobody' (known: older, young)"


def test_bad_days_and_formats_are_422(client: TestClient, admin: dict[str, str]) -> None:
    for query in ("days=0", "days=400", "days=x", "format=xml"):
        answer = client.get(f"/v1/reports/interest?{WEEK}&{query}", headers=admin)
        assert answer.status_code == 422, query
    assert client.get(f"/v1/reports/journeys?{WEEK}&format=csv", headers=admin).status_code == 422


def test_openapi_examples(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for kind in (*KINDS, "weblog"):
        answers = paths[f"/v1/reports/{kind}"]["get"]["responses"]
        assert "example" in answers["200"]["content"]["application/json"]
        assert "no segment" in answers["404"]["content"]["application/json"]["example"]["detail"]
    names = {p["name"] for p in paths["/v1/reports/interest"]["get"]["parameters"]}
    assert {"from", "to", "format", "segment", "days"} <= names


def test_pages_escape_every_value() -> None:
    from automation.reports.html import render_html

    evil = '<img src=x onerror="alert(1)">'
    rows = [{"segment": evil, "interest": "all", "customers": 1, "rate": 0.5}]
    for kind in KINDS:
        data = {"rows": rows, "never_bought": [evil], "reference": evil, "members_as_of": evil}
        page = render_html(kind, data)
        assert "<img" not in page and "&lt;img src=x" in page
