"""Advertising consent re-confirmation (정보통신망법 §50), end to end: the consent job's
``ad_consent_expiring`` → the journey's mail (to a real SMTP server) with its signed
link → the consent page → ``consent_changed`` (source ``consent_page``) → the consent
renewed or withdrawn, the result told, the campaign report's counts."""

from __future__ import annotations

import email.message
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from automation import clock
from automation.api import create_app
from automation.db import session_scope
from automation.delivery.deliver import deliver
from automation.journeys.registry import LIBRARY, publish_files
from automation.models import Customer, Event, Message
from automation.reports.campaigns import campaign_report
from automation.reports.period import Period
from automation.scheduler.jobs.consent import run_consent
from tests.delivery.test_deliver import Server, sms_gateway, smtp
from tests.journey_world import World

__all__ = ["sms_gateway", "smtp"]  # fixtures used here
JOURNEYS = [LIBRARY / "consent-reconfirm.yaml", LIBRARY / "consent-notice.yaml"]
LINK = re.compile(r"https?://[^/\s]+(/consent/[A-Za-z0-9_.\-]+)")
GIVEN_DAYS_AGO = 710  # lapses in 20 days (730), inside the 30-day notice


def consent_world() -> World:
    """The engine with only this issue's two journeys published."""
    world = World(builtin=False)
    publish_files(JOURNEYS)
    return world


def expiring(world: World, customer_id: str = "C1", **fields: Any) -> str:
    """A customer whose advertising consent lapses in 20 days, after the consent job ran."""
    given = clock.now() - timedelta(days=GIVEN_DAYS_AGO)
    values: dict[str, Any] = {"mobile": "010-1234-5678", "ad_consent_at": given}
    values |= {"email_consent_at": given, "sms_consent_at": given}
    world.customer(customer_id, **(values | fields))
    run_consent()
    world.process()
    return customer_id


def journey_messages(customer_id: str, journey: str) -> list[Message]:
    with session_scope() as s:
        q = select(Message).where(Message.customer_id == customer_id, Message.journey_id == journey)
        return list(s.exec(q.order_by(col(Message.id))))


def customer(customer_id: str) -> Customer:
    with session_scope() as s:
        row = s.get(Customer, customer_id)
        assert row is not None
        return row


def text_of(mail: email.message.EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def consent_path(mail: email.message.EmailMessage) -> str:
    found = LINK.search(text_of(mail))
    assert found, "the mail carries no consent link"
    return found.group(1)


def answer(client: TestClient, path: str, **answers: str) -> Any:
    """Open the page, then post the form with ``answers`` (others as shown); the
    response, with the form posted as ``.form``."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    basis = re.search(r'name="basis" value="([0-9a-f]+)"', page.text)
    assert basis
    form = {"basis": basis.group(1)}
    for kind in ("email", "sms", "call", "night"):
        shown = re.search(rf'name="{kind}" value="(yes|no)" checked', page.text)
        assert shown, kind
        form[kind] = answers.get(kind, shown.group(1))
    response = client.post(path, data=form)
    response.form = form
    return response


def advertising(customer_id: str, channel: str, template: str, key: str) -> int:
    """A queued advertising message (another journey's) to ``customer_id``."""
    with session_scope() as s:
        m = Message(
            idempotency_key=key,
            customer_id=customer_id,
            channel=channel,
            template=template,
            journey_id="conversion-ladder",
        )
        s.add(m)
        s.flush()
        assert m.id is not None
        return m.id


def page_events(customer_id: str) -> list[Event]:
    with session_scope() as s:
        q = select(Event).where(Event.customer_id == customer_id, Event.type == "consent_changed")
        return [e for e in s.exec(q) if e.properties.get("source") == "consent_page"]


def test_keeping_everything_renews_the_consent_and_tells_the_customer(
    database: str, smtp: Callable[..., Server]
) -> None:
    server = smtp()
    world = consent_world()
    expiring(world, "C1")
    expiring(world, "C2")  # never answers
    [ask] = journey_messages("C1", "consent-reconfirm")
    assert (ask.channel, ask.template) == ("email", "consent_reconfirm")
    assert deliver(ask.id or 0).status == "sent"
    [mail] = server.received
    assert not str(mail["Subject"]).startswith("(광고)")  # it asks: not an advertisement
    assert "광고 수신 동의" in str(mail["Subject"])
    path = consent_path(mail)

    client = TestClient(create_app())
    page = client.get(path)
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    given = customer("C1").ad_consent_at
    assert given is not None
    assert f"{given.year}년" in page.text and "이메일 광고 수신" in page.text
    assert "야간(21시~8시) 광고 수신" in page.text and "<script" not in page.text

    done = answer(client, path)  # keep everything as shown
    assert done.status_code == 200 and "반영했습니다" in done.text
    again = client.post(path, data=done.form)  # a double click or a reload: counts once
    assert again.status_code == 200 and "반영했습니다" in again.text
    kinds = sorted(e.properties["kind"] for e in page_events("C1"))
    assert kinds == ["ad", "email", "sms"]  # call and night were never given: no event
    assert customer("C1").ad_consent_at == clock.now()
    assert customer("C1").ad_consent_source == "consent_page"
    assert [e.status for e in world.enrollments("consent-reconfirm", "C1")] == ["converted"]

    world.after(minutes=6)  # the notice lets the answer's events land, then writes
    [notice] = journey_messages("C1", "consent-notice")
    assert deliver(notice.id or 0).status == "sent"
    result = server.received[-1]
    assert "처리 결과" in str(result["Subject"])
    assert "광고 수신 (전체): 동의" in text_of(result)

    clock.advance(timedelta(days=30))  # past the day the old consent would have lapsed
    world.tick()
    sent = deliver(advertising("C1", "email", "cross_sell", "ad-c1"))
    assert sent.status == "sent"
    lapsed = deliver(advertising("C2", "email", "cross_sell", "ad-c2"))
    assert (lapsed.status, lapsed.reason) == ("suppressed", "ad_consent_expired")


def test_withdrawing_sms_stops_advertising_sms_and_the_result_still_goes(
    database: str, smtp: Callable[..., Server], sms_gateway: list[dict[str, Any]]
) -> None:
    server = smtp()
    world = consent_world()
    expiring(world, "C1")
    [ask] = journey_messages("C1", "consent-reconfirm")
    deliver(ask.id or 0)
    client = TestClient(create_app())
    assert answer(client, consent_path(server.received[0]), sms="no").status_code == 200

    row = customer("C1")
    assert row.sms_consent is False and row.email_consent is True
    assert row.ad_consent is True and row.ad_consent_at == clock.now()  # still re-confirmed
    withdrawn = [e for e in page_events("C1") if e.properties["granted"] is False]
    assert [e.properties["kind"] for e in withdrawn] == ["sms"]
    outcome = deliver(advertising("C1", "sms", "product_reminder", "ad-sms"))
    assert (outcome.status, outcome.reason) == ("suppressed", "no_sms_consent")
    assert sms_gateway == []

    world.after(minutes=6)
    [notice] = journey_messages("C1", "consent-notice")
    assert (notice.channel, notice.template) == ("email", "consent_result")
    assert deliver(notice.id or 0).status == "sent"
    assert "문자(SMS) 광고 수신: 동의 안 함" in text_of(server.received[-1])
    world.after(days=10)  # answered: the re-confirmation journey asks no more
    assert [m.template for m in journey_messages("C1", "consent-reconfirm")] == [
        "consent_reconfirm"
    ]


def test_customers_without_sms_consent_get_no_sms_step(database: str) -> None:
    world = consent_world()
    expiring(world, "C1", sms_consent=False)
    expiring(world, "C2")
    world.after(days=3)
    world.after(days=7)
    world.after(days=14)
    no_sms = [(m.channel, m.template) for m in journey_messages("C1", "consent-reconfirm")]
    assert no_sms == [("email", "consent_reconfirm"), ("email", "consent_reconfirm")]
    with_sms = [m.channel for m in journey_messages("C2", "consent-reconfirm")]
    assert with_sms == ["email", "sms", "email"]
    [c1] = world.enrollments("consent-reconfirm", "C1")
    assert "ask_sms" not in world.path(c1.id or 0)
    assert (c1.status, c1.state) == ("completed", "no_answer")


def test_an_import_tells_nothing_and_an_operator_change_is_told(database: str) -> None:
    world = consent_world()
    world.customer("C1")
    world.customer("C2", email=None, mobile="010-2222-3333")  # no e-mail: told by SMS
    world.send("consent_changed", "C1", kind="sms", granted=False, source="import")
    world.after(minutes=6)
    assert journey_messages("C1", "consent-notice") == []
    for cid in ("C1", "C2"):
        world.send("consent_changed", cid, kind="ad", granted=False, source="phone")
        world.send("consent_changed", cid, kind="night", granted=True, source="phone")
    world.after(minutes=6)
    told = {
        cid: [(m.channel, m.template) for m in journey_messages(cid, "consent-notice")]
        for cid in ("C1", "C2")
    }  # two changes made together: one notice
    assert told == {"C1": [("email", "consent_result")], "C2": [("sms", "consent_result")]}


def test_the_campaign_report_counts_the_re_confirmation(
    database: str, smtp: Callable[..., Server]
) -> None:
    server = smtp()
    world = consent_world()
    for cid in ("C1", "C2", "C3"):
        expiring(world, cid, email=f"{cid.lower()}@example.kr")
        [ask] = journey_messages(cid, "consent-reconfirm")
        deliver(ask.id or 0)
    links = {str(m["To"]).split("@")[0].upper(): consent_path(m) for m in server.received}
    client = TestClient(create_app())
    answer(client, links["C1"])
    answer(client, links["C2"], sms="no")
    world.after(days=3)
    world.after(days=7)
    world.after(days=14)
    clock.advance(timedelta(days=1))
    lapsed = deliver(advertising("C3", "email", "cross_sell", "ad-c3"))
    assert lapsed.reason == "ad_consent_expired"

    today = clock.local().date()
    report = campaign_report(Period(today - timedelta(days=40), today))
    figures = report.consent.to_dict()
    assert figures["asked"] == 3 and figures["answered"] == 2
    assert figures["no_answer"] == 1 and figures["waiting"] == 0
    assert figures["kept"] == {"ad": 2, "email": 2, "sms": 1}
    assert figures["withdrawn"] == {"sms": 1}
    assert figures["suppressed_ad_consent_expired"] == 1
    assert report.to_dict()["consent_reconfirmation"] == figures
