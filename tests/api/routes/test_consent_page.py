"""The consent page ``/consent/{token}``: a signed, expiring link; Korean pages for
every refusal (never a traceback); and a real browser answering from the mail."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from automation import clock
from automation.api import create_app
from automation.config import reset_settings
from automation.customers.consent_link import consent_token, consent_url
from automation.delivery.deliver import deliver
from tests.console.browser import Watch, browser, require_chromium, serve, shot
from tests.customers.test_consent_reconfirm import (
    LINK,
    consent_world,
    customer,
    expiring,
    journey_messages,
    page_events,
)

__all__ = ["browser"]  # the fixture used here


@pytest.fixture
def client(database: str) -> Iterator[TestClient]:
    consent_world().customer("C1", mobile="010-1234-5678")
    yield TestClient(create_app())


def test_the_page_shows_each_consent_with_its_date_and_a_form(client: TestClient) -> None:
    page = client.get(f"/consent/{consent_token('C1')}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for label in ("이메일 광고 수신", "문자(SMS) 광고 수신", "전화 광고 수신", "야간(21시~8시)"):
        assert label in page.text
    assert '<form method="post">' in page.text and "<script" not in page.text
    assert re.search(r"https?://(?!127\.0\.0\.1)", page.text) is None  # nothing off-host


def test_an_expired_link_gets_a_korean_page_that_says_what_to_do(client: TestClient) -> None:
    path = f"/consent/{consent_token('C1')}"
    clock.advance(timedelta(days=61))  # CONSENT_LINK_VALID_DAYS is 60
    for answer in (client.get(path), client.post(path, data={"email": "no"})):
        assert answer.status_code == 410
        assert "유효기간이 지났습니다" in answer.text and "최근에 받으신" in answer.text
        assert "Traceback" not in answer.text
    assert page_events("C1") == []


@pytest.mark.parametrize(
    "token",
    [
        lambda: consent_token("C1")[:-3] + "AAA",  # tampered signature
        lambda: consent_token("C1").replace(".", "x", 1),  # garbled
        lambda: "garbage",
        lambda: "x" * 600,
    ],
)
def test_a_bad_link_gets_a_400_page(client: TestClient, token: Any) -> None:
    answer = client.get(f"/consent/{token()}")
    assert answer.status_code == 400
    assert "링크가 올바르지 않습니다" in answer.text and "Traceback" not in answer.text


def test_a_link_signed_with_another_key_is_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOMATION_SECRET_KEY", "someone-else")
    reset_settings()
    token = consent_token("C1")
    monkeypatch.setenv("AUTOMATION_SECRET_KEY", "test-secret-of-ours")
    reset_settings()
    assert client.get(f"/consent/{token}").status_code == 400


def test_a_link_for_no_customer_and_a_half_filled_form_are_refused(client: TestClient) -> None:
    assert client.get(f"/consent/{consent_token('NOBODY')}").status_code == 404
    path = f"/consent/{consent_token('C1')}"
    half = client.post(path, data={"email": "yes", "sms": "maybe", "basis": "0" * 16})
    assert half.status_code == 400 and "유지 또는 철회" in half.text
    assert page_events("C1") == []


def test_a_browser_opens_the_link_from_the_mail_and_withdraws_sms(
    database: str, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_chromium()
    served = serve()
    try:
        monkeypatch.setenv("AUTOMATION_PUBLIC_URL", served.url)
        reset_settings()
        world = consent_world()
        expiring(world, "C1")
        [ask] = journey_messages("C1", "consent-reconfirm")
        assert deliver(ask.id or 0).status == "sent"
        [eml] = sorted(Path("outbox/email").glob("*.eml"))  # the sink's mail
        mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found = LINK.search(text)
        assert found and found.group(0).startswith(served.url)

        context = browser.new_context(locale="ko-KR")
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch = Watch(served.url)
        watch.attach(page)
        page.goto(found.group(0))
        assert page.locator("h1").inner_text() == "광고성 정보 수신 동의 확인"
        assert page.locator("#consent-sms").inner_text().split("\t")[1] == "동의"
        page.get_by_role("group", name="문자(SMS) 광고 수신").get_by_label("철회").check()
        page.get_by_role("button", name="이대로 확인").click()
        page.wait_for_load_state("networkidle")
        assert "반영했습니다" in page.get_by_role("status").inner_text()
        assert "동의 안 함" in page.locator("#consent-sms").inner_text()
        assert "동의" in page.locator("#consent-email").inner_text()
        shot(page, "consent-page-withdrawn-sms")
        watch.check()
        context.close()
    finally:
        served.stop()
    row = customer("C1")
    assert row.sms_consent is False and row.ad_consent_at == clock.now()
    assert consent_url("C1").startswith(served.url)
