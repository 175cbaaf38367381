"""Tracking routes: open pixel, clicks (with scanner detection) and unsubscribes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pendulum
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from automation import clock, db
from automation.api import create_app
from automation.models import Customer, Event, Message
from automation.tracking import tokens as tracking

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
TARGET = "https://www.example-life.co.kr/products/educare?utm_source=mail&x=1"
T0 = pendulum.datetime(2026, 11, 22, 10, 0, tz="Asia/Seoul")


@pytest.fixture
def client(database: str) -> Iterator[TestClient]:
    with clock.frozen_at(T0):
        yield TestClient(create_app(), headers={"User-Agent": BROWSER})


def make_message(sent_ago: timedelta | None = timedelta(hours=1), channel: str = "email") -> int:
    """A sent message of customer C1 (created once) in the welcome journey."""
    with db.session_scope() as s:
        if s.get(Customer, "C1") is None:
            s.add(Customer(customer_id="C1", name="김민지", email="minji@example.com"))
            s.flush()
        m = Message(
            idempotency_key=f"test:{channel}:{sent_ago}",
            customer_id="C1",
            journey_id="welcome",
            version_id=3,
            state="greet",
            channel=channel,
            template="welcome_mail",
            status="sent",
            sent_at=T0 - sent_ago if sent_ago is not None else None,
        )
        s.add(m)
        s.flush()
        assert m.id is not None
        return m.id


def stored(type_: str | None = None) -> list[Event]:
    with db.session_scope() as s:
        query = select(Event).order_by(Event.id)  # type: ignore[arg-type]
        if type_:
            query = query.where(Event.type == type_)
        return list(s.exec(query).all())


def path(url: str) -> str:
    return urlsplit(url).path


def forged(token: str) -> str:
    """``token`` with the first character of its MAC changed (the last one may only
    carry padding bits)."""
    body, mac = token.split(".")
    return f"{body}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}"


def test_open_pixel_returns_a_gif_and_records_one_open(client: TestClient) -> None:
    mid = make_message()
    url = path(tracking.open_pixel_url(mid))
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(b"GIF89a") and len(response.content) == 43
    client.get(url)  # a second open of the same mail is no new event
    [opened] = stored()
    assert (opened.event_id, opened.type, opened.customer_id) == (
        f"open:{mid}",
        "email_opened",
        "C1",
    )
    assert opened.source == "tracking"
    props = opened.properties
    assert props["message_id"] == mid
    assert (props["journey_id"], props["version_id"], props["state"]) == ("welcome", 3, "greet")
    assert props["template"] == "welcome_mail" and props["enrollment_id"] is None
    assert props["user_agent"] == BROWSER and props["ip"]
    assert props["suspected_bot"] is False


@pytest.mark.parametrize(
    "bad",
    [
        lambda mid: "garbage",
        lambda mid: "a.b",
        lambda mid: forged(tracking.open_token(mid)),
        lambda mid: tracking.click_token(mid, TARGET),  # genuine, of another kind
    ],
)
def test_a_bad_open_token_still_gets_the_gif_and_records_nothing(
    client: TestClient, bad: Any
) -> None:
    response = client.get(f"/t/o/{bad(make_message())}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert stored() == []


def test_a_click_records_and_redirects_to_exactly_the_signed_url(client: TestClient) -> None:
    mid = make_message()
    response = client.get(path(tracking.click_url(mid, TARGET)), follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == TARGET
    assert response.headers["cache-control"] == "no-store"
    [clicked] = stored()
    assert clicked.type == "email_clicked" and clicked.customer_id == "C1"
    assert clicked.event_id.startswith(f"click:{mid}:") and clicked.event_id.endswith(
        ":202611220100"
    )
    assert clicked.properties["url"] == TARGET
    assert clicked.properties["message_id"] == mid
    assert clicked.properties["suspected_bot"] is False


def test_clicks_within_a_minute_are_one_click_and_later_ones_are_more(client: TestClient) -> None:
    mid = make_message()
    url = path(tracking.click_url(mid, TARGET))
    other = path(tracking.click_url(mid, "https://www.example-life.co.kr/other"))
    for _ in range(3):  # a double-click and a retried request
        client.get(url, follow_redirects=False)
    client.get(other, follow_redirects=False)
    assert len(stored("email_clicked")) == 2
    clock.advance(timedelta(minutes=1))
    client.get(url, follow_redirects=False)
    assert len(stored("email_clicked")) == 3


@pytest.mark.parametrize(
    "tamper",
    [
        forged,
        lambda t: (
            tracking.click_token(1, "https://evil.example/").split(".")[0] + "." + t.split(".")[1]
        ),  # another target under the original MAC
        lambda t: tracking.open_token(1),  # a genuine token of another kind
        lambda t: t + ".x",
    ],
)
def test_a_tampered_click_token_is_refused_without_a_redirect(
    client: TestClient, tamper: Any
) -> None:
    mid = make_message()
    token = tamper(tracking.click_token(mid, TARGET))
    response = client.get(f"/t/c/{token}", follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid link" in response.text
    assert stored() == []


@pytest.mark.parametrize(
    ("headers", "sent_ago", "reason"),
    [
        ({"User-Agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"}, 3600, "user_agent"),
        ({"User-Agent": "Mimecast-URL-Protect/1.0"}, 3600, "user_agent"),
        (
            {"User-Agent": "Microsoft Office/16.0 (Microsoft Outlook 16.0.17328)"},
            3600,
            "user_agent",
        ),
        ({"User-Agent": BROWSER, "Sec-Purpose": "prefetch"}, 3600, "prefetch_header"),
        ({"User-Agent": ""}, 3600, "no_user_agent"),
        ({"User-Agent": BROWSER}, 2, "too_soon_after_send"),
    ],
)
def test_scanner_clicks_are_kept_and_flagged(
    client: TestClient, headers: dict[str, str], sent_ago: int, reason: str
) -> None:
    mid = make_message(timedelta(seconds=sent_ago))
    url = path(tracking.click_url(mid, TARGET))
    response = client.get(url, headers=headers, follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == TARGET
    [clicked] = stored()
    assert clicked.properties["suspected_bot"] is True
    assert clicked.properties["bot_reason"] == reason
    assert clicked.event_id.endswith(":bot")
    # The customer's own click in the same minute is not swallowed by the scanner's.
    client.get(url, follow_redirects=False)
    if sent_ago > 10:
        assert [e.properties["suspected_bot"] for e in stored()] == [True, False]


def test_a_click_after_the_scanner_window_is_a_person(client: TestClient) -> None:
    mid = make_message(timedelta(seconds=11))
    client.get(path(tracking.click_url(mid, TARGET)), follow_redirects=False)
    [clicked] = stored()
    assert clicked.properties["suspected_bot"] is False


def test_a_click_on_a_missing_message_redirects_without_recording(client: TestClient) -> None:
    response = client.get(path(tracking.click_url(999, TARGET)), follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == TARGET
    assert stored() == []


def test_unsubscribe_page_then_one_click_post_records_once(client: TestClient) -> None:
    mid = make_message()
    url = path(tracking.unsubscribe_url(mid))
    page = client.get(url)
    assert page.status_code == 200
    assert "수신 거부" in page.text and '<form method="post">' in page.text
    assert stored() == []  # a GET (or a scanner following the link) never unsubscribes
    one_click = {"content-type": "application/x-www-form-urlencoded"}
    for _ in range(2):
        done = client.post(url, content="List-Unsubscribe=One-Click", headers=one_click)
        assert done.status_code == 200
        assert "수신 거부가 완료되었습니다" in done.text
    [event] = stored()
    assert (event.event_id, event.type, event.customer_id) == (
        f"unsubscribe:{mid}",
        "unsubscribed",
        "C1",
    )
    assert event.properties["channel"] == "email"
    assert event.properties["method"] == "one_click"
    assert event.properties["journey_id"] == "welcome"
    assert event.properties["message_id"] == mid
    # Processed in the request, not left to the broker.
    assert event.processed_at is not None and event.last_error is None


def test_the_page_form_unsubscribes_too(client: TestClient) -> None:
    mid = make_message(channel="sms")
    response = client.post(path(tracking.unsubscribe_url(mid)), data={"confirm": "yes"})
    assert response.status_code == 200
    [event] = stored("unsubscribed")
    assert event.properties["method"] == "page"
    assert event.properties["channel"] == "sms"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_bad_unsubscribe_token_gets_a_400_page(client: TestClient, method: str) -> None:
    mid = make_message()
    token = forged(tracking.unsubscribe_token(mid))
    response = client.request(method, f"/u/{token}", content="List-Unsubscribe=One-Click")
    assert response.status_code == 400
    assert "링크가 올바르지 않습니다" in response.text
    assert "signature does not match" in response.text
    assert stored() == []
