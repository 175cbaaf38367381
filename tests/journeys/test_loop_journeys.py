"""The shipped journeys use what the engine learns about a customer: the SMS first for
the email-unresponsive and those whose preferred channel is SMS (dormant-reactivation,
conversion-ladder), with the product that fits them; welcome tips that follow what the
member reads (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.delivery.deliver import deliver
from automation.models import Message, Product
from automation.segments import registry as segments
from tests.journey_world import World
from tests.peers import Mailbox, sms_gateway_running, smtp_server_running


@pytest.fixture
def peers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mailbox, list[dict[str, Any]]]]:
    """A real SMTP server and a real HTTP SMS gateway."""
    with (
        smtp_server_running(monkeypatch) as box,
        sms_gateway_running(monkeypatch) as received,
    ):
        yield box, received


def _catalogue() -> None:
    with session_scope() as s:
        s.add(Product(product_code="EDU-CARE", name="에듀케어", category="insurance", md_pick=True))
        s.add(Product(product_code="WHOLE-LIFE", name="종신보험", category="insurance"))


def _prefers(**kinds: list[str]) -> dict[str, Any]:
    """Preferences as the preferences step keeps them, most preferred first per kind."""
    at = clock.now().isoformat()
    return {
        "preferences": {
            kind: {key: {"score": 10.0 - i, "at": at} for i, key in enumerate(keys)}
            for kind, keys in kinds.items()
        }
    }


def _journey_messages(journey: str, customer_id: str = "C1") -> list[Message]:
    with session_scope() as s:
        q = select(Message).where(Message.customer_id == customer_id, Message.journey_id == journey)
        return list(s.exec(q.order_by(col(Message.id))))


def _deliver_all(messages: list[Message]) -> None:
    for message in messages:
        assert deliver(message.id).status == "sent", message.template  # type: ignore[arg-type]


def test_an_email_unresponsive_customer_gets_the_dormant_sms_first(
    database: str, peers: tuple[Mailbox, list[dict[str, Any]]]
) -> None:
    mailbox, sms = peers
    world = World()
    segments.publish_builtin()
    _catalogue()
    world.customer("C1", mobile="010-1234-5678", attributes=_prefers(product=["WHOLE-LIFE"]))
    for n in range(3):  # three e-mails never opened
        world.send("email_sent", "C1", message_id=1000 + n)
    world.send("customer_dormant", "C1")
    [first] = _journey_messages("dormant-reactivation")
    assert (first.channel, first.template) == ("sms", "reactivation_sms")
    assert first.payload["product_code"] == "WHOLE-LIFE"
    _deliver_all([first])
    [text] = [body["text"] for body in sms]
    assert "김민서님께 종신보험 새 소식" in text
    world.after(days=7)
    later = _journey_messages("dormant-reactivation")
    assert [(m.channel, m.template) for m in later] == [
        ("sms", "reactivation_sms"),
        ("email", "reactivation"),
    ]
    _deliver_all(later[1:])
    assert len(mailbox.received) == 1


def test_a_customer_who_prefers_sms_gets_it_first_and_one_who_reads_mail_gets_mail(
    database: str,
) -> None:
    world = World()
    _catalogue()
    world.customer("C1", attributes={"preferred_channel": "sms"})
    world.customer("C2", attributes={"preferred_channel": "email"})
    world.customer("C3", sms_consent=False, attributes={"preferred_channel": "sms"})
    for cid in ("C1", "C2", "C3"):
        world.send("customer_dormant", cid)
    firsts = {
        cid: [(m.channel, m.template) for m in _journey_messages("dormant-reactivation", cid)]
        for cid in ("C1", "C2", "C3")
    }
    assert firsts == {
        "C1": [("sms", "reactivation_sms")],
        "C2": [("email", "reactivation")],
        "C3": [("email", "reactivation")],  # no SMS consent: the e-mail after all
    }


def test_the_conversion_ladder_sends_a_member_who_prefers_sms_the_product_sms_first(
    database: str,
) -> None:
    world = World()
    _catalogue()
    world.customer(
        "M1",
        lifecycle_stage="member",
        attributes={"preferred_channel": "sms", **_prefers(product=["WHOLE-LIFE"])},
    )
    world.send("signup", "M1")
    world.after(days=1)
    [nudge] = _journey_messages("conversion-ladder", "M1")
    assert (nudge.channel, nudge.template) == ("sms", "product_reminder")
    assert nudge.payload["product_code"] == "WHOLE-LIFE"


def test_welcome_tips_follow_what_the_member_reads(
    database: str, peers: tuple[Mailbox, list[dict[str, Any]]]
) -> None:
    mailbox, _ = peers
    world = World()
    world.customer("C1", attributes=_prefers(content=["pension-savings", "retirement"]))
    world.customer("C2")  # no reading history
    for cid in ("C1", "C2"):
        world.send("signup", cid)
    world.after(days=3)
    for cid in ("C1", "C2"):
        _deliver_all([m for m in _journey_messages("welcome", cid) if m.template == "welcome_tips"])
    reader, newcomer = (
        mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for mail in sorted(mailbox.received, key=lambda m: str(m["To"]))
    )
    assert "즐겨 읽으신 주제" in reader
    assert "연금 저축으로 준비하는 든든한 노후" in reader
    assert "은퇴 후 생활비, 한 달에 얼마면 될까" in reader
    assert "자녀 교육 자금" not in reader
    assert reader.index("연금 저축") < reader.index("은퇴 후 생활비")  # most read first
    assert "많이 찾아보시는 주제" in newcomer
    assert "자녀 교육 자금" in newcomer and "보험금 청구" in newcomer
