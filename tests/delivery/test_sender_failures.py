"""A sender-side SMTP failure never bounces a customer: it fails the message, raises an
alert and pauses e-mail; messages claimed meanwhile wait and go after the resume. A real
aiosmtpd server answers each stage with a chosen reply."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlmodel import select

from automation import clock
from automation.channels.base import EMAIL
from automation.channels.errors import Stage, smtp_failure
from automation.channels.smtp import close_senders
from automation.config import reset_settings
from automation.db import session_scope
from automation.delivery import ledger, pause
from automation.delivery.backlog import relay_messages
from automation.delivery.deliver import deliver, deliver_many
from automation.delivery.failures import failed
from automation.models import Customer, Event, Message
from tests.channels.scripted_smtp import Script, scripted_smtp  # noqa: F401 (a fixture)
from tests.journey_world import World

HELD = "channel_paused:email"


@pytest.fixture
def smtp(
    scripted_smtp: Callable[..., tuple[Script, str]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Script]]:
    def start(replies: dict[Stage, str] | None = None) -> Script:
        script, url = scripted_smtp(replies)
        monkeypatch.setenv("AUTOMATION_SMTP_URL", url)
        reset_settings()
        close_senders()
        return script

    yield start
    close_senders()


def _messages(world: World, count: int) -> list[int]:
    ids = []
    for n in range(1, count + 1):
        world.customer(f"C{n}")
        with session_scope() as s:
            message = Message(
                idempotency_key=f"m{n}", customer_id=f"C{n}", channel="email", template="welcome"
            )
            s.add(message)
            s.flush()
            assert message.id is not None
            ids.append(message.id)
    return ids


def _row(message_id: int) -> Message:
    with session_scope() as s:
        row = s.get(Message, message_id)
        assert row is not None
        return row


def _bounces() -> int:
    with session_scope() as s:
        return len(s.exec(select(Event).where(Event.type == "email_bounced")).all())


def _hard_bounced() -> list[str]:
    with session_scope() as s:
        customers = s.exec(select(Customer)).all()
        return sorted(c.customer_id for c in customers if (c.attributes or {}).get("hard_bounced"))


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _paused() -> pause.Pause | None:
    with session_scope() as s:
        return pause.in_force(s.connection(), "email", clock.now())


CASES = [
    # stage, reply, the message's status, the customer bounced, e-mail paused
    (Stage.CONNECT, "554 5.7.1 No SMTP service here", "failed", False, True),
    (Stage.AUTH, "535 5.7.8 Authentication credentials invalid", "failed", False, True),
    (Stage.MAIL_FROM, "530 5.7.0 Authentication required", "failed", False, True),
    (Stage.RCPT_TO, "550 5.1.1 No such user", "bounced", True, False),
    (Stage.RCPT_TO, "550 5.7.1 Relaying denied", "failed", False, True),
    (Stage.DATA, "554 5.5.1 No valid recipients", "failed", False, True),
    (Stage.AFTER_DATA, "552 5.3.4 Message too big", "failed", False, False),
    (Stage.AFTER_DATA, "552 Message size exceeds maximum", "failed", False, False),
    (Stage.AFTER_DATA, "550 5.1.1 No such user", "bounced", True, False),
    (Stage.AFTER_DATA, "552 5.2.2 Mailbox full", "bounced", True, False),
    (Stage.RCPT_TO, "421 4.7.0 Closing, try later", "deferred", False, False),
    (Stage.AFTER_DATA, "451 4.3.0 Try again later", "deferred", False, False),
]


@pytest.mark.parametrize(("stage", "reply", "status", "bounced", "paused"), CASES)
def test_each_stage_and_code(
    database: str,
    smtp: Callable[..., Script],
    stage: Stage,
    reply: str,
    status: str,
    bounced: bool,
    paused: bool,
) -> None:
    server = smtp({stage: reply})
    world = World(builtin=False)
    first, second = _messages(world, 2)

    outcome = deliver(first)
    world.process()

    assert outcome.status == status and reply.split(" ")[0] in (outcome.reason or "")
    assert _bounces() == int(bounced)
    assert _hard_bounced() == (["C1"] if bounced else [])
    assert (_paused() is not None) == paused
    attempted = list(server.commands)
    later = deliver(second)
    if paused:  # not attempted: it waits for the pause
        assert (later.status, later.reason) == ("deferred", HELD)
        assert server.commands == attempted and _row(second).attempts == 0
    else:
        assert len(server.commands) > len(attempted)


def test_an_expired_credential_fails_one_message_pauses_and_bounces_nobody(
    database: str, smtp: Callable[..., Script], caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp({Stage.MAIL_FROM: "530 5.7.0 Authentication required"})
    world = World(builtin=False)
    ids = _messages(world, 20)
    labels = {"stage": "mail_from", "reply": "530 5.7.0", "verdict": "sender"}
    before = (
        _metric("automation_smtp_failures_total", **labels),
        _metric("automation_channel_pauses_total", channel="email", by="auto"),
        _metric("automation_messages_held_total", channel="email"),
    )

    with caplog.at_level(logging.ERROR, logger="automation.delivery"):
        outcomes = deliver_many(ids)
    world.process()

    assert [o.status for o in outcomes] == ["failed"] + ["deferred"] * 19
    assert outcomes[0].reason == "sender: SMTP mail_from: 530 5.7.0 Authentication required"
    assert {o.reason for o in outcomes[1:]} == {HELD}
    assert server.commands == ["MAIL"]  # the 19 others were not attempted
    assert _bounces() == 0 and _hard_bounced() == []
    assert all(_row(i).attempts == 0 for i in ids[1:])
    after = (
        _metric("automation_smtp_failures_total", **labels),
        _metric("automation_channel_pauses_total", channel="email", by="auto"),
        _metric("automation_messages_held_total", channel="email"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 19]
    [alert] = [r for r in caplog.records if r.levelno == logging.ERROR]
    for said in ("email paused", "mail_from", "530", "5.7.0 Authentication required"):
        assert said in alert.getMessage()

    # Fixed and resumed: each waiting message is offered again and sent once.
    server.replies.clear()
    clock.advance(timedelta(minutes=1))
    assert relay_messages() == 0  # still paused: nothing offered
    assert pause.resume_channel("email", by="ops") == (True, 19)
    assert relay_messages() == 19
    again = deliver_many(ids)
    assert [o.status for o in again] == ["skipped"] + ["sent"] * 19
    assert len(server.received) == 19
    assert sorted(m["To"] for m in server.received) == sorted(f"c{n}@example.kr" for n in ids[1:])
    assert all(o.status == "skipped" for o in deliver_many(ids))


def test_a_pause_ends_by_itself_after_channel_pause_seconds(
    database: str, smtp: Callable[..., Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp({Stage.AUTH: "535 5.7.8 Authentication credentials invalid"})
    monkeypatch.setenv("AUTOMATION_CHANNEL_PAUSE_SECONDS", "120")
    reset_settings()
    world = World(builtin=False)
    first, second = _messages(world, 2)
    assert deliver(first).status == "failed"
    paused_at = clock.now()
    assert deliver(second).status == "deferred"
    assert _row(second).deliver_after == paused_at + timedelta(seconds=120)

    server.replies.clear()
    clock.advance(timedelta(seconds=119))
    assert relay_messages() == 0
    clock.advance(timedelta(seconds=2))
    assert _paused() is None
    assert relay_messages() == 1
    assert deliver(second).status == "sent" and len(server.received) == 1


def test_a_sender_failure_while_already_paused_waits_instead_of_failing(
    database: str, smtp: Callable[..., Script]
) -> None:
    smtp()
    world = World(builtin=False)
    [mid] = _messages(world, 1)
    now = clock.now()
    with session_scope() as s:  # a worker claims it, then another pauses e-mail
        assert ledger.claim(s.connection(), mid, now)
        until = now + timedelta(minutes=30)
        assert pause.pause(s.connection(), "email", now, until=until, reason="x", by="auto")
    refused = smtp_failure(Stage.MAIL_FROM, 530, "5.7.0 Authentication required")

    outcome = failed(mid, EMAIL, 1, refused, now)

    assert (outcome.status, outcome.reason) == ("deferred", HELD)
    row = _row(mid)
    assert (row.status, row.attempts, row.deliver_after) == ("deferred", 0, until)
    with session_scope() as s:  # a second pause is not taken while one is in force
        assert not pause.pause(s.connection(), "email", now, until=None, reason="y", by="auto")


@pytest.mark.parametrize(
    ("reply", "status"), [("530 5.7.0 ", "failed"), ("451 4.3.0 ", "deferred")]
)
def test_a_long_server_text_fits_the_reason_column(
    database: str, smtp: Callable[..., Script], reply: str, status: str
) -> None:
    smtp({Stage.MAIL_FROM: reply + "x" * 400})
    world = World(builtin=False)
    [mid] = _messages(world, 1)
    assert deliver(mid).status == status
    reason = _row(mid).reason or ""
    assert len(reason) == 300 and reply.split(" ")[0] in reason
