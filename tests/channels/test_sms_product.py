"""Product-aware SMS: the product's name always, its short tracked link when it fits in
the 90 bytes (an LMS, with the link, when the name alone does not fit), sent through a
real HTTP gateway; and the short link route that records the click and leads to the
product's page (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from automation import clock
from automation.api import create_app
from automation.channels.sms_text import sms_size, truncate_bytes
from automation.config import get_settings, reset_settings
from automation.db import session_scope
from automation.delivery.deliver import deliver
from automation.journeys.registry import publish_files
from automation.models import Event, Message, Product
from automation.tracking.short import read_code, short_code
from tests.journey_world import World
from tests.peers import Gateway, sms_gateway_running

BROWSER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
JOURNEY = """journey: sms-product
name: sms product test
entry: {on: test_go}
start: nudge
states:
  nudge:
    do:
      - sms: {template: product_reminder, product: best_for_customer}
    after: {wait: 1d, to: done}
  done:
    end: true
"""


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    with sms_gateway_running(monkeypatch) as received:
        yield received


def _sent(tmp_path: Path, product: str, name: str) -> tuple[dict[str, Any], int]:
    """The journey's SMS about ``product`` to C1, as the gateway got it; its message id."""
    world = World(builtin=False)
    with session_scope() as s:
        s.add(Product(product_code=product, name=name, category="insurance", md_pick=True))
    world.customer("C1", mobile="010-1234-5678")
    path = tmp_path / "sms-product.yaml"
    path.write_text(JOURNEY, encoding="utf-8")
    publish_files([path])
    world.send("test_go", "C1")
    with session_scope() as s:
        message = s.exec(select(Message).where(col(Message.journey_id) == "sms-product")).one()
    assert message.payload["product_code"] == product
    assert deliver(message.id).status == "sent"  # type: ignore[arg-type]
    [body] = Gateway.received
    body["size"] = sms_size(body["text"])  # as carriers count it
    return body, message.id  # type: ignore[return-value]


def test_a_product_sms_carries_the_name_and_its_short_link_when_it_fits(
    database: str, gateway: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOMATION_PUBLIC_URL", "https://k.kr")
    monkeypatch.setenv("AUTOMATION_SENDER_NAME", "교보")
    reset_settings()
    body, message_id = _sent(tmp_path, "WHOLE-LIFE", "종신보험")
    link = f"https://k.kr/s/{short_code(message_id, 'product')}"
    assert body["kind"] == "sms" and body["size"] <= 90
    assert (
        body["text"] == f"(광고)교보\n김민서님께 추천: 종신보험\n{link}\n무료수신거부 080-000-0000"
    )


def test_a_link_that_does_not_fit_is_left_out_and_the_sms_stays_an_sms(
    database: str, gateway: list[dict[str, Any]], tmp_path: Path
) -> None:
    body, _ = _sent(tmp_path, "WHOLE-LIFE", "종신보험")  # PUBLIC_URL http://127.0.0.1:8000
    assert body["kind"] == "sms" and body["size"] <= 90
    assert "종신보험" in body["text"] and "/s/" not in body["text"]


def test_a_name_too_long_for_an_sms_goes_as_an_lms_with_the_link(
    database: str, gateway: list[dict[str, Any]], tmp_path: Path
) -> None:
    name = "무배당 교보 미리보는 우리아이 에듀케어 교육보험"
    body, message_id = _sent(tmp_path, "EDU-CARE", name)
    assert body["kind"] == "lms" and body["size"] > 90
    assert body["subject"] == truncate_bytes(f"(광고){name} 안내", 40)
    public = get_settings().public_url.rstrip("/")
    assert name in body["text"]
    assert f"{public}/s/{short_code(message_id, 'product')}" in body["text"]


# --- the short link ----------------------------------------------------------------------


def test_a_short_code_names_its_message_and_link_and_cannot_be_forged() -> None:
    code = short_code(123456, "product")
    assert len(code) == len("W7E") + 1 + 8 and read_code(code) == (123456, "p")
    assert read_code(short_code(0, "consult")) == (0, "c")
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert read_code(forged) is None
    assert read_code(short_code(7, "product").replace("7p", "8p", 1)) is None
    assert read_code("") is None and read_code("x" * 40) is None
    assert read_code("000000000\x80") is None and read_code("1p가나다라마바사아") is None


def test_a_click_on_the_short_link_is_recorded_and_leads_to_the_product_page(
    database: str, gateway: list[dict[str, Any]], tmp_path: Path
) -> None:
    body, message_id = _sent(
        tmp_path, "EDU-CARE", "무배당 교보 미리보는 우리아이 에듀케어 교육보험"
    )
    [link] = [w for w in body["text"].split() if "/s/" in w]
    clock.advance(timedelta(minutes=5))  # read a while after it came (not a previewer)
    client = TestClient(create_app(), headers={"User-Agent": BROWSER})
    answer = client.get(urlsplit(link).path, follow_redirects=False)
    assert answer.status_code == 302 and answer.headers["cache-control"] == "no-store"
    site = get_settings().site.rstrip("/")
    assert answer.headers["location"] == f"{site}/products/EDU-CARE"
    client.get(urlsplit(link).path, follow_redirects=False)  # a double tap: one click
    with session_scope() as s:
        [click] = s.exec(select(Event).where(Event.type == "sms_clicked")).all()
    assert click.customer_id == "C1"
    props = click.properties
    assert (props["message_id"], props["journey_id"], props["link"]) == (
        message_id,
        "sms-product",
        "product",
    )
    assert props["url"] == f"{site}/products/EDU-CARE" and props["suspected_bot"] is False


def test_a_bad_short_link_is_refused_and_records_nothing(database: str) -> None:
    client = TestClient(create_app(), headers={"User-Agent": BROWSER})
    answer = client.get("/s/1pAAAAAAAA", follow_redirects=False)
    assert answer.status_code == 400 and "링크가 올바르지 않습니다" in answer.text
    answer = client.get("/s/000000000%C2%80", follow_redirects=False)  # not base 62
    assert answer.status_code == 400
    with session_scope() as s:
        assert s.exec(select(Event).where(Event.type == "sms_clicked")).all() == []
