"""GET /v1/reports/*: the admin key, the period, JSON and the HTML page."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from automation.api import create_app, keys
from automation.db import session_scope
from automation.journeys import yamlmap
from automation.models import (
    Customer,
    Enrollment,
    Event,
    Journey,
    JourneyVersion,
    Message,
    Transition,
)
from automation.reports.funnel import funnel_report
from automation.reports.html import render_html
from automation.reports.period import Period
from automation.reports.weblog import weblog_report

KINDS = ("funnel", "journeys", "campaigns", "weblog")
WEEK = "from=2026-11-16&to=2026-11-22"
IN = datetime(2026, 11, 17, 1, tzinfo=UTC)
WELCOME = """\
journey: welcome
name: 회원 가입 환영
entry: {on: signup}
start: thanks
states:
  thanks:
    after: {wait: 3d, to: done}
  done:
    end: true
"""


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(create_app())


@pytest.fixture
def admin(database: str) -> dict[str, str]:
    return {"X-API-Key": keys.create_key("admin", "manager-kim")}


def _seed() -> None:
    """Welcome journey: 6 treated (3 converted), 3 held out (1 converted); 7 e-mails sent
    (3 opened by a person) and 2 suppressed for want of consent."""
    with session_scope() as s:
        s.add(Journey(journey_id="welcome", name="회원 가입 환영", latest_version_id=1))
        s.flush()
        spec = json.loads(json.dumps(yamlmap.load(WELCOME)[0]))
        version: dict[str, Any] = {
            "journey_id": "welcome",
            "version": 1,
            "source": WELCOME,
            "checksum": "c",
        }
        s.add(JourneyVersion(id=1, spec=spec, **version))
        s.flush()
        for n in range(1, 10):
            s.add(Customer(customer_id=f"C{n}", name=f"고객{n}"))
        s.flush()
        for n in range(1, 10):
            control, converted = n > 6, n in (1, 2, 3, 7)
            e = Enrollment(
                journey_id="welcome",
                version_id=1,
                customer_id=f"C{n}",
                state="__converted__" if converted else "thanks",
                status="converted" if converted else "active",
                control=control,
                entered_at=IN,
                exited_at=IN + timedelta(hours=1) if converted else None,
            )
            s.add(e)
            s.flush()
            assert e.id is not None
            entry: dict[str, Any] = {
                "version_id": 1,
                "to_state": "thanks",
                "trigger": "entry",
                "at": IN,
            }
            s.add(Transition(enrollment_id=e.id, **entry))
        for n in range(1, 10):
            sent = n <= 7
            m = Message(
                idempotency_key=f"m{n}",
                journey_id="welcome",
                version_id=1,
                customer_id=f"C{n}",
                channel="email",
                template="환영<b>",
                status="sent" if sent else "suppressed",
                reason=None if sent else "no_email_consent",
                created_at=IN,
                sent_at=IN if sent else None,
            )
            s.add(m)
            s.flush()
            if n <= 3:
                s.add(
                    Event(
                        event_id=f"open:{m.id}",
                        type="email_opened",
                        occurred_at=IN + timedelta(hours=2),
                        received_at=IN + timedelta(hours=2),
                        customer_id=f"C{n}",
                        properties={"message_id": m.id, "suspected_bot": False},
                    )
                )


@pytest.mark.parametrize("kind", KINDS)
def test_an_admin_key_is_required(client: TestClient, kind: str) -> None:
    assert client.get(f"/v1/reports/{kind}").status_code == 401
    wrong = {"X-API-Key": keys.create_key("ingest", "site")}
    assert client.get(f"/v1/reports/{kind}", headers=wrong).status_code == 403


@pytest.mark.parametrize("kind", KINDS)
def test_each_report_as_json(client: TestClient, admin: dict[str, str], kind: str) -> None:
    answer = client.get(f"/v1/reports/{kind}?{WEEK}", headers=admin)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["period"] == {
        "from": "2026-11-16",
        "to": "2026-11-22",
        "days": 7,
        "timezone": "Asia/Seoul",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_each_report_as_html(client: TestClient, admin: dict[str, str], kind: str) -> None:
    answer = client.get(f"/v1/reports/{kind}?{WEEK}&format=html", headers=admin)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    page = answer.text
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="ko">' in page
    assert '<meta charset="utf-8">' in page
    assert "2026-11-16 ~ 2026-11-22" in page
    assert not re.search(r"<script|<link|src=|https?://(?!www\.w3\.org/2000/svg)", page)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("from=2026-13-01", "--from '2026-13-01' is not a date: use YYYY-MM-DD"),
        ("to=22-11-2026", "--to '22-11-2026' is not a date: use YYYY-MM-DD"),
        ("from=2026-11-22&to=2026-11-16", "period starts 2026-11-22 after it ends 2026-11-16"),
    ],
)
def test_a_bad_period_is_422_with_the_reason(
    client: TestClient, admin: dict[str, str], query: str, reason: str
) -> None:
    for kind in KINDS:
        answer = client.get(f"/v1/reports/{kind}?{query}", headers=admin)
        assert answer.status_code == 422
        assert answer.json() == {"detail": reason}


def test_an_unknown_format_or_dimension_is_422(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get(f"/v1/reports/funnel?{WEEK}&format=xml", headers=admin).status_code == 422
    answer = client.get(f"/v1/reports/campaigns?{WEEK}&by=journey,segment", headers=admin)
    assert answer.status_code == 422
    assert "cannot group campaigns by 'segment'" in answer.json()["detail"]


def test_campaigns_json_and_page(client: TestClient, admin: dict[str, str]) -> None:
    _seed()
    data = client.get(f"/v1/reports/campaigns?{WEEK}", headers=admin).json()
    row = data["rows"][0]
    assert {k: row[k] for k in ("journey", "template", "channel")} == {
        "journey": "welcome",
        "template": "환영<b>",
        "channel": "email",
    }
    assert (row["decided"], row["sent"], row["delivered"], row["opened"]) == (9, 7, 7, 3)
    assert row["converted"] == 0  # no enrollment names a last message here
    assert row["open_rate"] == 0.4286
    assert data["suppressed_by_reason"] == {"no_email_consent": 2}
    page = client.get(f"/v1/reports/campaigns?{WEEK}&format=html", headers=admin).text
    assert "환영&lt;b&gt;" in page and "환영<b>" not in page
    assert "42.9%" in page  # the open rate
    assert (
        '<td class="n">9</td><td class="n">7</td><td class="n">7</td><td class="n">3</td>' in page
    )
    assert ">no_email_consent</text>" in page  # a bar of the suppression chart
    assert "<svg" in page


def test_campaigns_by_channel(client: TestClient, admin: dict[str, str]) -> None:
    _seed()
    data = client.get(f"/v1/reports/campaigns?{WEEK}&by=channel", headers=admin).json()
    assert data["by"] == ["channel"]
    assert [(r["channel"], r["decided"]) for r in data["rows"]] == [("email", 9)]


def test_journeys_json_and_page(client: TestClient, admin: dict[str, str]) -> None:
    _seed()
    data = client.get(f"/v1/reports/journeys?{WEEK}", headers=admin).json()
    welcome = data["journeys"][0]
    assert (welcome["entered"], welcome["converted"], welcome["active"]) == (9, 4, 5)
    assert welcome["goal_rate"] == 0.4444
    assert welcome["uplift"] == {
        "treatment": {"entered": 6, "converted": 3, "rate": 0.5},
        "control": {"entered": 3, "converted": 1, "rate": 0.3333},
        "uplift": 0.1667,
    }
    assert welcome["steps"] == [
        {"state": "thanks", "reached": 9, "share": 1.0},
        {"state": "done", "reached": 0, "share": 0.0},
    ]
    page = client.get(f"/v1/reports/journeys?{WEEK}&format=html", headers=admin).text
    assert "회원 가입 환영" in page
    assert "44.4%" in page  # goal rate
    assert "50.0%" in page and "33.3%" in page  # treatment and holdout rates
    assert "+16.7%p" in page  # uplift
    assert ">9 (100.0%)</text>" in page  # the step bar of "thanks"


def test_the_default_period_is_the_last_30_days(client: TestClient, admin: dict[str, str]) -> None:
    period = client.get("/v1/reports/funnel", headers=admin).json()["period"]
    assert period["days"] == 30
    assert period["to"] == Period.of().end.isoformat()


# --- the page itself -----------------------------------------------------------------


def test_values_are_escaped_everywhere() -> None:
    evil = '<img src=x onerror="alert(1)">'
    data: dict[str, Any] = {
        "period": {"from": evil, "to": "2026-11-22", "days": 7, "timezone": "Asia/Seoul"},
        "by": ["template"],
        "rows": [{"template": evil, "decided": 1, "open_rate": None}],
        "channels": [],
        "total": {"decided": 1, "call_outcomes": {evil: 1}},
        "suppressed_by_reason": {evil: 1},
    }
    page = render_html("campaigns", data)
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    journeys = {
        "journeys": [
            {
                "journey": evil,
                "name": evil,
                "steps": [{"state": evil, "reached": 1, "share": 1.0}],
                "uplift": {"treatment": {}, "control": {}, "uplift": None},
                "versions": [{"version": evil}, {"version": 2}],
            }
        ]
    }
    assert "<img" not in render_html("journeys", journeys)
    weblog = {"group": {"attributes.x": evil}, "main_paths": [{"pages": [evil], "visits": 1}]}
    assert "<img" not in render_html("weblog", weblog)
    assert "<img" not in render_html("funnel", {"rungs": [{"rung": evil, "reached": 1}]})


def test_an_unknown_page_is_refused() -> None:
    with pytest.raises(ValueError, match="no HTML page for report 'sales'"):
        render_html("sales", {})


def test_funnel_and_weblog_pages_from_their_reports(database: str) -> None:
    period = Period(date(2026, 11, 16), date(2026, 11, 22))
    funnel = render_html("funnel", funnel_report(period).to_dict())
    assert "전환 퍼널" in funnel and "방문자 (visitor)" in funnel and "<svg" in funnel
    weblog = render_html("weblog", weblog_report(period).to_dict())
    assert "웹 로그 분석" in weblog and "자료가 없습니다" in weblog
    shares = {
        "content_preference": [{"key": "education", "views": 30, "share": 0.75}],
        "main_paths": [{"pages": ["/", "/products/educare"], "visits": 4, "share": 0.5}],
    }
    page = render_html("weblog", shares)
    assert ">75.0% (30)</text>" in page
    assert "/ → /products/educare" in page
