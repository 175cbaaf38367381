"""The SMTP transport reports what happened: the stage, the reply code, the enhanced
status code and the server's text, against a real aiosmtpd server that answers each
stage with a chosen reply."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from automation.channels.email import build_email
from automation.channels.email_template import render_email
from automation.channels.errors import (
    AddressError,
    PermanentSmtpFailure,
    SmtpFailure,
    Stage,
    TransientSmtpFailure,
    enhanced_code,
)
from automation.channels.mail import OutgoingMail
from automation.channels.smtp import SmtpSender, close_senders
from automation.channels.smtp_session import failure
from automation.channels.templates import sample_context
from automation.config import reset_settings
from tests.channels.scripted_smtp import Script, scripted_smtp  # noqa: F401 (a fixture)
from tests.peers import free_port

Start = Callable[..., tuple[Script, str]]


@pytest.fixture
def senders() -> Iterator[Callable[[str], SmtpSender]]:
    made: list[SmtpSender] = []

    def make(url: str) -> SmtpSender:
        made.append(SmtpSender.from_url(url))
        return made[-1]

    yield make
    for sender in made:
        sender.close()
    close_senders()


def _mail(to: str = "gildong.hong@example.com") -> OutgoingMail:
    rendered = render_email("welcome", sample_context("email"))
    return build_email(rendered, to=to, message_id=7, message_key="enrollment:1:1:7")


P, T = PermanentSmtpFailure, TransientSmtpFailure
STAGES = [
    # stage, the server's reply, the error, code, enhanced code
    (Stage.CONNECT, "554 5.7.1 No SMTP service here", P, 554, "5.7.1"),
    (Stage.CONNECT, "421 4.3.2 Service shutting down", T, 421, "4.3.2"),
    (Stage.EHLO, "550 5.7.1 Go away", P, 550, "5.7.1"),
    (Stage.STARTTLS, "554 5.7.3 Not with you", P, 554, "5.7.3"),
    (Stage.STARTTLS, "454 4.7.0 TLS not available", T, 454, "4.7.0"),
    (Stage.AUTH, "535 5.7.8 Authentication credentials invalid", P, 535, "5.7.8"),
    (Stage.AUTH, "454 4.7.0 Temporary authentication failure", T, 454, "4.7.0"),
    (Stage.MAIL_FROM, "530 5.7.0 Authentication required", P, 530, "5.7.0"),
    (Stage.MAIL_FROM, "552 5.3.4 Message size exceeds fixed limit", P, 552, "5.3.4"),
    (Stage.RCPT_TO, "550 5.1.1 <gildong.hong@example.com>: No such user", P, 550, "5.1.1"),
    (Stage.RCPT_TO, "550 5.7.1 Relaying denied", P, 550, "5.7.1"),
    (Stage.RCPT_TO, "450 4.2.1 Mailbox busy", T, 450, "4.2.1"),
    (Stage.DATA, "554 5.5.1 No valid recipients", P, 554, "5.5.1"),
    (Stage.AFTER_DATA, "552 5.3.4 Message too big", P, 552, "5.3.4"),
    (Stage.AFTER_DATA, "552 Message size exceeds maximum", P, 552, None),
    (Stage.AFTER_DATA, "451 4.3.0 Try again later", T, 451, "4.3.0"),
]


@pytest.mark.parametrize(("stage", "reply", "kind", "code", "enhanced"), STAGES)
def test_each_stage_is_reported_with_its_code_and_text(
    scripted_smtp: Start,  # noqa: F811
    senders: Callable[[str], SmtpSender],
    stage: Stage,
    reply: str,
    kind: type[SmtpFailure],
    code: int,
    enhanced: str | None,
) -> None:
    script, url = scripted_smtp({stage: reply})
    sender = senders(url + ("&starttls=true" if stage == Stage.STARTTLS else ""))

    with pytest.raises(kind) as caught:
        sender.send_sync(_mail())

    failure = caught.value
    assert (failure.stage, failure.code, failure.enhanced) == (stage, code, enhanced)
    assert failure.text == reply.split(" ", 1)[1]
    assert failure.reason == f"SMTP {stage.value}: {reply}"
    assert script.received == []
    if stage in (Stage.MAIL_FROM, Stage.RCPT_TO, Stage.DATA, Stage.AFTER_DATA):
        # A refused envelope is reset and the session goes on.
        script.replies.clear()
        sender.send_sync(_mail())
        assert len(script.received) == 1 and sender.connections_opened == 1


def test_the_data_command_and_the_content_are_told_apart(
    scripted_smtp: Start,  # noqa: F811
    senders: Callable[[str], SmtpSender],
) -> None:
    script, url = scripted_smtp({Stage.DATA: "554 5.5.1 No valid recipients"})
    with pytest.raises(PermanentSmtpFailure) as at_data:
        senders(url).send_sync(_mail())
    assert at_data.value.stage == Stage.DATA and script.commands == ["MAIL", "RCPT", "DATA"]

    script.replies = {Stage.AFTER_DATA: "554 5.5.1 No valid recipients"}
    with pytest.raises(PermanentSmtpFailure) as after:
        senders(url).send_sync(_mail())
    assert after.value.stage == Stage.AFTER_DATA


def test_a_missing_starttls_or_auth_is_permanent_configuration(
    scripted_smtp: Start,  # noqa: F811
    senders: Callable[[str], SmtpSender],
) -> None:
    _, url = scripted_smtp()  # neither STARTTLS nor AUTH advertised
    with pytest.raises(PermanentSmtpFailure, match="STARTTLS") as no_tls:
        senders(url + "&starttls=true").send_sync(_mail())
    assert (no_tls.value.stage, no_tls.value.code) == (Stage.STARTTLS, None)
    host = url.removeprefix("smtp://")
    with pytest.raises(PermanentSmtpFailure, match="AUTH") as no_auth:
        senders(f"smtp://mailer:secret@{host}").send_sync(_mail())
    assert (no_auth.value.stage, no_auth.value.code) == (Stage.AUTH, None)


def test_a_good_login_then_a_send(
    scripted_smtp: Start,  # noqa: F811
    senders: Callable[[str], SmtpSender],
) -> None:
    script, url = scripted_smtp(auth=True)
    assert "2.0.0" in senders(url).send_sync(_mail())
    assert script.commands == ["MAIL", "RCPT", "DATA"] and len(script.received) == 1


def test_a_lost_connection_is_transient_with_its_stage(
    senders: Callable[[str], SmtpSender],
) -> None:
    with pytest.raises(TransientSmtpFailure, match="connection failed") as caught:
        senders(f"smtp://127.0.0.1:{free_port()}?timeout=2").send_sync(_mail())
    assert (caught.value.stage, caught.value.code) == (Stage.CONNECT, None)


def test_an_unusable_bounce_address_is_ours_and_a_recipient_address_the_customers(
    scripted_smtp: Start,  # noqa: F811
    senders: Callable[[str], SmtpSender],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script, url = scripted_smtp()
    monkeypatch.setenv("AUTOMATION_BOUNCE_ADDRESS", "bounce desk@example.com")
    reset_settings()
    with pytest.raises(PermanentSmtpFailure, match="unusable sender address") as caught:
        senders(url).send_sync(_mail())
    assert (caught.value.stage, caught.value.code) == (Stage.MAIL_FROM, None)
    assert script.commands == []  # refused before it was written on the wire

    refused = ValueError("Address 'a <b>' contains characters not permitted")
    assert isinstance(failure(Stage.RCPT_TO, refused), AddressError)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("5.7.0 Authentication required", "5.7.0"),
        ("  5.1.10 Recipient address has null MX", "5.1.10"),
        ("4.2.2 Mailbox full\nplease try later", "4.2.2"),
        ("Authentication required", None),
        ("5.7.0auth", None),
        ("3.1.1 not a class", None),
    ],
)
def test_the_enhanced_code_is_read_from_the_start_of_the_text(text: str, code: str | None) -> None:
    assert enhanced_code(text) == code
