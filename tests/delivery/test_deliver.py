"""The delivery ledger and the contact policy against a real SMTP server (aiosmtpd)
and a real local HTTP SMS gateway: sent once, retried, bounced, deferred, suppressed."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pendulum
import pytest
from aiosmtpd.controller import Controller
from sqlmodel import col, select

from automation import clock
from automation.channels.smtp import close_senders
from automation.config import reset_settings
from automation.db import session_scope
from automation.delivery import ledger
from automation.delivery.backlog import relay_messages
from automation.delivery.deliver import deliver
from automation.delivery.pause import pause_channel
from automation.models import CallTask, Customer, Event, Message
from tests.helpers import statements_run
from tests.journey_world import World
from tests.peers import free_port, sms_gateway_running
from tests.review_items import message_row, queued_message

SEOUL = "Asia/Seoul"


class Server:
    """An SMTP server that answers ``script`` first (one code per message), then 250."""

    def __init__(self, *script: str) -> None:
        self.script = list(script)
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.script:
            answer = self.script.pop(0)
            if answer == "drop":
                server.transport.close()
                return "250 OK"
            return answer
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(parsed)  # type: ignore[arg-type]
        return "250 2.0.0 Ok: queued as Q1"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Server]]:
    controllers: list[Controller] = []

    def start(*script: str) -> Server:
        handler = Server(*script)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        monkeypatch.setenv("AUTOMATION_SMTP_URL", f"smtp://127.0.0.1:{port}")
        reset_settings()
        close_senders()
        return handler

    yield start
    close_senders()
    for controller in controllers:
        controller.stop()


@pytest.fixture
def sms_gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    with sms_gateway_running(monkeypatch) as received:
        yield received


def _world(**customer: Any) -> World:
    world = World(builtin=False)
    world.customer("C1", mobile="010-1234-5678", **customer)
    return world


def _message(
    channel: str, template: str | None, key: str = "m1", journey: str = "test", **payload: Any
) -> int:
    return queued_message(key, channel, template, journey, **payload)


_row = message_row


def test_an_email_is_sent_once_with_its_legal_headers(database: str, smtp: Callable) -> None:
    server = smtp()
    _world()
    mid = _message("email", "retention_offer")
    assert deliver(mid).status == "sent"
    assert deliver(mid).status == "skipped"  # a re-delivered actor message
    [mail] = server.received
    assert mail["Subject"].startswith("(광고)")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in mail["List-Unsubscribe"]
    assert mail["X-Automation-Message"] == "m1"
    assert {p.get_content_type() for p in mail.walk()} >= {"text/plain", "text/html"}
    row = _row(mid)
    assert row.status == "sent" and row.sent_at is not None and row.provider_id


def test_a_batch_reads_neither_its_messages_back_nor_pauses_when_none_is_in_force(
    database: str, smtp: Callable
) -> None:
    """The claim returns the messages it took and whether a pause is in force: with
    none, the batch makes no SELECT of either; with one, the message is held."""
    server = smtp()
    _world()
    first = _message("email", "retention_offer")
    with statements_run() as statements:
        assert deliver(first).status == "sent"
    assert len(server.received) == 1
    reads = [s for s in statements if s.startswith("SELECT")]
    assert not [s for s in reads if "FROM channel_pauses" in s], reads
    assert not [s for s in reads if s.startswith("SELECT messages.id, messages.idem")], reads
    pause_channel("email", seconds=3600, reason="the relay is down", by="ops")
    second = _message("email", "retention_offer", key="m2")
    assert deliver(second).status == "deferred"
    assert len(server.received) == 1


def _dying_when_sent(real: Callable[..., None]) -> Callable[..., None]:
    """``settle_many`` of a worker that dies as it records a send."""

    def settle_many(conn: Any, ends: list[Any], now: Any) -> None:
        if any(end.status.value == "sent" for end in ends):
            raise KeyboardInterrupt("the worker dies here")
        real(conn, ends, now)

    return settle_many


def test_a_worker_killed_between_send_and_record_never_sends_twice(
    database: str, smtp: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp()
    _world()
    mid = _message("email", "welcome")
    real = ledger.settle_many
    monkeypatch.setattr(ledger, "settle_many", _dying_when_sent(real))
    with pytest.raises(KeyboardInterrupt):
        deliver(mid)
    monkeypatch.setattr(ledger, "settle_many", real)
    assert len(server.received) == 1 and _row(mid).status == "sending"
    relay_messages(grace_seconds=0)  # within the grace period: left alone
    assert _row(mid).status == "sending"
    clock.advance(timedelta(minutes=11))
    relay_messages()
    assert _row(mid).status == "review"
    assert deliver(mid).status == "skipped"
    assert len(server.received) == 1


def _sent_events() -> list[tuple[str, str | None]]:
    with session_scope() as s:
        query = select(Event.event_id, Event.customer_id).where(Event.type == "email_sent")
        return [(e, c) for e, c in s.exec(query)]


def test_a_sent_mail_and_its_email_sent_event_are_recorded_together(
    database: str, smtp: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp()
    _world()
    first, second = _message("email", "welcome", key="m1"), _message("email", "welcome", key="m2")
    real = ledger.settle_many
    monkeypatch.setattr(ledger, "settle_many", _dying_when_sent(real))
    with pytest.raises(KeyboardInterrupt):
        deliver(first)
    assert _sent_events() == []  # neither the record nor its event
    monkeypatch.setattr(ledger, "settle_many", real)
    assert deliver(second).status == "sent"
    assert _sent_events() == [(f"sent:{second}", "C1")]


def test_a_dropped_connection_then_a_4xx_are_retried_then_sent(
    database: str, smtp: Callable
) -> None:
    server = smtp("drop", "451 4.3.0 try again later")
    _world()
    mid = _message("email", "welcome")
    first = deliver(mid)
    assert first.status == "deferred" and first.reason and first.reason.startswith("retry")
    assert deliver(mid).status == "skipped"  # not before its time
    clock.advance(timedelta(seconds=61))
    assert deliver(mid).status == "deferred"  # the 451
    clock.advance(timedelta(seconds=121))  # the wait doubles
    assert deliver(mid).status == "sent"
    assert len(server.received) == 1 and _row(mid).attempts == 3


def test_a_5xx_bounces_emits_email_bounced_and_stops_the_next_mail(
    database: str, smtp: Callable
) -> None:
    server = smtp("550 5.1.1 no such user")
    world = _world()
    mid = _message("email", "welcome")
    outcome = deliver(mid)
    assert outcome.status == "bounced" and "550" in (outcome.reason or "")
    with session_scope() as s:
        bounce = s.exec(select(Event).where(Event.type == "email_bounced")).one()
    assert bounce.event_id == f"bounce:{mid}" and bounce.properties["bounce"] == "hard"
    world.process()
    second = _message("email", "welcome_tips", key="m2")
    assert deliver(second).status == "suppressed"
    assert _row(second).reason == "hard_bounced"
    assert server.received == []


def test_night_time_in_seoul_defers_sms_to_eight_but_new_york_is_awake(
    database: str, sms_gateway: list
) -> None:
    world = _world()
    world.customer("NY", mobile="010-2222-3333", timezone="America/New_York")
    clock.freeze(pendulum.datetime(2026, 11, 2, 22, 0, tz=SEOUL))  # 08:00 in New York
    seoul = _message("sms", "product_reminder")
    with session_scope() as s:
        ny = Message(
            idempotency_key="ny", customer_id="NY", channel="sms", template="product_reminder"
        )
        s.add(ny)
        s.flush()
        ny_id = ny.id
    assert deliver(seoul).status == "deferred"
    assert _row(seoul).reason == "night_time"
    assert _row(seoul).deliver_after == pendulum.datetime(2026, 11, 3, 8, 0, tz=SEOUL)
    assert deliver(ny_id).status == "sent"  # type: ignore[arg-type]
    assert [m["to"] for m in sms_gateway] == ["01022223333"]
    clock.freeze(pendulum.datetime(2026, 11, 3, 8, 0, tz=SEOUL))
    assert relay_messages() == 1
    assert deliver(seoul).status == "sent"
    assert sms_gateway[-1]["text"].startswith("(광고)")


def test_night_consent_lets_an_sms_go_at_night(database: str, sms_gateway: list) -> None:
    _world(night_consent=True)
    clock.freeze(pendulum.datetime(2026, 11, 2, 23, 30, tz=SEOUL))
    assert deliver(_message("sms", "product_reminder")).status == "sent"


def test_the_daily_sms_cap_defers_the_second_to_the_next_morning(
    database: str, sms_gateway: list
) -> None:
    _world()
    first, second = _message("sms", "product_reminder"), _message("sms", "product_reminder", "m2")
    assert deliver(first).status == "sent"
    assert deliver(second).status == "deferred"
    row = _row(second)
    assert row.reason == "cap_sms_day"
    assert row.deliver_after == pendulum.datetime(2026, 11, 3, 8, 0, tz=SEOUL)


def test_the_weekly_cap_suppresses(database: str, smtp: Callable) -> None:
    smtp()
    _world()
    for day in range(5):  # the e-mail week cap is 5
        clock.freeze(pendulum.datetime(2026, 11, 2 + day, 10, 0, tz=SEOUL))
        mid = _message("email", "welcome", f"d{day}", journey=f"j{day}")
        assert deliver(mid).status == "sent"
    clock.freeze(pendulum.datetime(2026, 11, 7, 10, 0, tz=SEOUL))
    late = _message("email", "welcome", "d5", journey="j5")
    assert deliver(late).status == "suppressed" and _row(late).reason == "cap_email_week"


def test_one_journey_may_not_flood_a_customer(database: str, smtp: Callable) -> None:
    smtp()
    _world()
    for day in range(4):  # four a week from one journey
        clock.freeze(pendulum.datetime(2026, 11, 2 + day, 10, 0, tz=SEOUL))
        assert deliver(_message("email", "welcome", f"d{day}")).status == "sent"
    clock.freeze(pendulum.datetime(2026, 11, 6, 10, 0, tz=SEOUL))
    late = _message("email", "welcome", "d4")
    assert deliver(late).status == "suppressed" and _row(late).reason == "cap_journey_week"


def test_consent_withdrawn_between_queueing_and_sending(database: str, sms_gateway: list) -> None:
    _world()
    mid = _message("sms", "product_reminder")
    with session_scope() as s:
        customer = s.get(Customer, "C1")
        assert customer is not None
        customer.sms_consent = False
        s.add(customer)
    assert deliver(mid).status == "suppressed"
    assert _row(mid).reason == "no_sms_consent" and sms_gateway == []


def test_advertising_consent_lapses_after_two_years(database: str, smtp: Callable) -> None:
    server = smtp()
    _world(ad_consent_at=pendulum.datetime(2024, 11, 1, 9, 0, tz=SEOUL))
    ad = _message("email", "retention_offer")
    assert deliver(ad).status == "suppressed" and _row(ad).reason == "ad_consent_expired"
    info = _message("email", "welcome", "m2")  # not advertising: consent to e-mail is enough
    assert deliver(info).status == "sent" and len(server.received) == 1


def test_an_unsubscribe_suppresses_a_queued_send(database: str, smtp: Callable) -> None:
    server = smtp()
    world = _world()
    mid = _message("email", "welcome")
    world.send("unsubscribed", "C1", message_id=mid)
    assert deliver(mid).status == "suppressed" and _row(mid).reason == "unsubscribed"
    assert server.received == []


def test_a_call_becomes_one_task_with_the_preference_report(database: str) -> None:
    world = _world(call_consent=True)
    world.policy("P1", "C1", pendulum.date(2026, 11, 22))
    world.send("product_view", "C1", product="EDU-CARE")
    world.send("content_view", "C1", content="education-children")
    due = (clock.now() + timedelta(days=2)).isoformat()
    mid = _message("call", None, queue="retention", priority="high", due_at=due)
    assert deliver(mid).status == "sent"
    assert deliver(mid).status == "skipped"
    with session_scope() as s:
        [task] = s.exec(select(CallTask).order_by(col(CallTask.id))).all()
    assert (task.queue, task.priority, task.message_id) == ("retention", "high", mid)
    assert task.due_at == clock.to_utc(pendulum.parse(due))  # type: ignore[arg-type]
    report = task.report
    assert report["top_products"][0]["product"] == "EDU-CARE"
    assert report["top_content"] == [{"content": "education-children", "views": 1}]
    assert report["policies"][0]["maturity_date"] == "2026-11-22"


def test_after_a_crash_mail_and_sms_go_to_review_and_a_call_is_reopened_once(
    database: str,
) -> None:
    _world(call_consent=True, email="c1@example.kr")
    ids = {
        "email": _message("email", "welcome", "e"),
        "sms": _message("sms", "product_reminder", "s"),
        "call": _message("call", None, "c", queue="sales"),
    }
    assert deliver(ids["call"]).status == "sent"
    with session_scope() as s:  # as a worker that died after the send leaves them
        for mid in ids.values():
            row = s.get(Message, mid)
            assert row is not None
            row.status, row.updated_at = "sending", clock.now()
            s.add(row)
    clock.advance(timedelta(minutes=11))
    assert ledger.resolve_stuck(clock.now()) == 3
    assert {c: _row(mid).status for c, mid in ids.items()} == {
        "email": "review",
        "sms": "review",
        "call": "queued",
    }
    assert deliver(ids["call"]).status == "sent"
    with session_scope() as s:
        assert len(s.exec(select(CallTask)).all()) == 1  # opening the task is idempotent


def test_no_call_consent_no_task(database: str) -> None:
    _world()  # call consent defaults to no
    mid = _message("call", None, queue="sales", priority="normal")
    assert deliver(mid).status == "suppressed" and _row(mid).reason == "no_call_consent"


def test_signup_to_welcome_mail_through_the_broker(backend: Any, smtp: Callable) -> None:
    server = smtp()
    World()  # the built-in journeys
    with session_scope() as s:
        s.add(Customer(customer_id="W1", email="w1@example.kr", email_consent=True))
    from automation.events.ingest import ingest

    event = {"event_id": "s1", "type": "signup", "customer_id": "W1"}
    ingest([event | {"occurred_at": clock.now().isoformat()}])
    backend.wait()
    assert [m["To"] for m in server.received] == ["w1@example.kr"]
    assert not server.received[0]["Subject"].startswith("(광고)")


def test_a_broken_template_fails_at_publish_not_at_send(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from typer.testing import CliRunner

    from automation.cli import app
    from automation.config import ROOT

    root = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", root)
    (root / "email" / "broken.html").write_text(
        '{% set advertising = false %}{% extends "email/base.html" %}'
        "{% block subject %}안내{% endblock %}"
        "{% block body %}{{ customer.nickname }}{% endblock %}",
        encoding="utf-8",
    )
    (root / "email" / "broken.txt").write_text(
        '{% set advertising = false %}{% extends "email/base.txt" %}'
        "{% block subject %}안내{% endblock %}{% block body %}안내{% endblock %}",
        encoding="utf-8",
    )
    monkeypatch.setenv("AUTOMATION_TEMPLATES_DIR", str(root))
    reset_settings()
    journey = tmp_path / "j.yaml"
    journey.write_text(
        "journey: broken\nname: b\nentry:\n  on: signup\nstart: a\nstates:\n"
        "  a:\n    do:\n      - email: broken\n    after: {wait: 1d, to: b}\n"
        "  b:\n    end: true\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["journeys", "validate", str(journey)])
    assert result.exit_code == 1
    assert f"{journey}:9:" in result.output and "nickname" in result.output


def test_the_recommendation_follows_what_the_customer_prefers(
    database: str, smtp: Callable
) -> None:
    from automation.models import Product

    server = smtp()
    world = _world()
    with session_scope() as s:
        s.add(Product(product_code="EDU-CARE", name="에듀케어", category="insurance", md_pick=True))
        s.add(Product(product_code="CHILD-CI", name="어린이 CI보험", category="insurance"))
    mid = _message("email", "product_recommendation")
    assert deliver(mid).status == "sent"
    assert "에듀케어" in server.received[-1]["Subject"]  # nothing viewed yet: the MD pick
    for _ in range(2):
        world.send("product_view", "C1", product="CHILD-CI")
    world.send("product_view", "C1", product="EDU-CARE")
    clock.advance(timedelta(days=1))
    second = _message("email", "product_recommendation", "m2", journey="other")
    assert deliver(second).status == "sent"
    assert "어린이 CI보험" in server.received[-1]["Subject"]
