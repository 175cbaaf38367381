"""E-mail: the built message, tracking links, and delivery to a real SMTP server
(aiosmtpd) or the sink."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import html
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from automation.channels.email import build_email
from automation.channels.email_template import render_email
from automation.channels.errors import (
    PermanentDeliveryError,
    PermanentSmtpFailure,
    Stage,
    TransientDeliveryError,
)
from automation.channels.mail import OutgoingMail
from automation.channels.smtp import SinkSender, SmtpConfig, SmtpSender, close_senders, get_sender
from automation.channels.templates import sample_context
from automation.config import reset_settings
from automation.errors import ConfigError
from automation.tracking import tokens as tracking
from tests.peers import free_port

PUBLIC = "https://crm.example.com"


@pytest.fixture(autouse=True)
def _public_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AUTOMATION_PUBLIC_URL", PUBLIC)
    reset_settings()
    yield
    close_senders()


class Collect:
    """Accepts every message; answers ``script`` codes first, one per message."""

    def __init__(self, *script: str, delay: float = 0.0) -> None:
        self.script = list(script)
        self.delay = delay
        self.received: list[bytes] = []
        self.peers: set[Any] = set()
        self.logins: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.add(session.peer)
        if self.delay:
            delay, self.delay = self.delay, 0.0  # once (a dropped client cancels the nap)
            await asyncio.sleep(delay)
        if self.script:
            answer = self.script.pop(0)
            if answer == "drop":
                server.transport.close()
            return answer if answer != "drop" else "250 OK"
        self.received.append(envelope.original_content)
        return "250 2.0.0 Ok: queued as Q1"


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., str]]:
    """Start an aiosmtpd server with a handler; returns its ``smtp://`` URL."""
    controllers: list[Controller] = []

    def start(handler: Any, **kwargs: Any) -> str:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return f"smtp://127.0.0.1:{port}"

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def senders() -> Iterator[Callable[[str], SmtpSender]]:
    made: list[SmtpSender] = []

    def make(url: str) -> SmtpSender:
        made.append(SmtpSender.from_url(url))
        return made[-1]

    yield make
    for sender in made:
        sender.close()


def _mail(template: str = "product_recommendation", message_id: int = 7) -> OutgoingMail:
    context = sample_context("email")
    context["message"] = {"id": message_id, "key": f"enrollment:1:1:{message_id}"}
    rendered = render_email(template, context)
    return build_email(
        rendered,
        to="gildong.hong@example.com",
        message_id=message_id,
        message_key=f"enrollment:1:1:{message_id}",
    )


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _parts(msg: EmailMessage) -> tuple[str, str]:
    plain = msg.get_body(("plain",))
    rich = msg.get_body(("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()


def _hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]


def test_advertising_mail_arrives_with_both_parts_and_the_legal_headers(
    smtp_server: Callable[..., str], senders: Callable[[str], SmtpSender]
) -> None:
    handler = Collect()
    sender = senders(smtp_server(handler))

    answer = sender.send_sync(_mail("product_recommendation"))

    assert "queued as Q1" in answer
    [raw] = handler.received
    msg = _parse(raw)
    assert msg.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in msg.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in msg.iter_parts())
    assert msg["Subject"].startswith("(광고) ")
    assert "추천" in msg["Subject"]
    assert msg["From"].addresses[0].display_name == "교보생명"
    assert msg["From"].addresses[0].addr_spec == "ecrm@example.com"
    assert msg["To"] == "gildong.hong@example.com"
    assert parsedate_to_datetime(msg["Date"]).utcoffset() == timedelta(hours=9)
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.com>", msg["Message-ID"])
    assert msg["X-Automation-Message"] == "enrollment:1:1:7"
    unsubscribe = tracking.unsubscribe_url(7, PUBLIC)
    assert msg["List-Unsubscribe"].startswith(f"<{unsubscribe}>, <mailto:unsubscribe@example.com?")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, page = _parts(msg)
    for body in (text, page):
        assert unsubscribe in body
        assert "080-000-0000" in body
        assert "광고성 정보" in body
    assert "홍길동님" in text and "홍길동님" in page


def test_every_link_goes_through_the_click_route_and_reads_back(
    smtp_server: Callable[..., str], senders: Callable[[str], SmtpSender]
) -> None:
    handler = Collect()
    senders(smtp_server(handler)).send_sync(_mail("retention_offer", message_id=42))
    _, page = _parts(_parse(handler.received[0]))

    unsubscribe = tracking.unsubscribe_url(42, PUBLIC)
    context = sample_context("email")
    context["message"] = {"id": 42, "key": "k"}
    originals = {
        u for u in _hrefs(render_email("retention_offer", context).html) if u != unsubscribe
    }
    targets: set[str] = set()
    for url in _hrefs(page):
        if url == unsubscribe:
            continue
        assert url.startswith(f"{PUBLIC}/t/c/"), url
        data = tracking.read_token(url.rsplit("/", 1)[1], "click")
        assert data.message_id == 42 and data.url is not None
        targets.add(data.url)
    assert targets == originals
    assert any("&utm_medium=email&" in t for t in targets)  # unescaped, as a browser follows it
    pixel = re.search(rf'<img src="{re.escape(PUBLIC)}/t/o/([^"]+)"', page)
    assert pixel is not None
    assert tracking.read_token(pixel.group(1), "open").message_id == 42
    assert page.index(pixel.group(0)) < page.index("</body>")


def test_a_tampered_or_borrowed_token_is_refused() -> None:
    token = tracking.click_token(5, "https://www.example.com/products")
    body, mac = token.split(".")
    forged = base64.urlsafe_b64encode(
        json.dumps({"k": "c", "m": 6, "u": "https://evil.example.net/"}).encode()
    )
    for bad in (
        f"{forged.decode().rstrip('=')}.{mac}",  # another payload under the old MAC
        f"{body}.{mac[:-2]}AA",  # a changed MAC
        f"{body}{mac}",  # no separator
        "",
        "not-a-token.at-all",
        "x" * 5000,
    ):
        with pytest.raises(tracking.BadToken):
            tracking.read_token(bad, "click")
    with pytest.raises(tracking.BadToken, match="expected open"):
        tracking.read_token(token, "open")  # a click token is no open pixel
    assert tracking.read_token(token, "click").url == "https://www.example.com/products"


def test_a_token_signed_under_another_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    token = tracking.unsubscribe_token(9)
    monkeypatch.setenv("AUTOMATION_SECRET_KEY", "another-secret")
    reset_settings()
    with pytest.raises(tracking.BadToken):
        tracking.read_token(token, "unsubscribe")


def test_list_unsubscribe_stays_readable_with_a_long_public_url(
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: Callable[..., str],
    senders: Callable[[str], SmtpSender],
) -> None:
    # Standard header folding would spell a token longer than a line as =?utf-8?q?…?=.
    long_base = "https://marketing-automation.insurer-example.co.kr/tracking"
    monkeypatch.setenv("AUTOMATION_PUBLIC_URL", long_base)
    reset_settings()
    handler = Collect()
    senders(smtp_server(handler)).send_sync(_mail(message_id=123456789))
    header = _parse(handler.received[0])["List-Unsubscribe"]
    assert "=?" not in header
    https, mailto = re.findall(r"<([^>]+)>", header)
    assert https == tracking.unsubscribe_url(123456789, long_base)
    token = mailto.rsplit("unsubscribe-", 1)[1]
    assert tracking.read_token(token, "unsubscribe").message_id == 123456789


def test_rewriting_leaves_mailto_tel_stylesheets_and_the_unsubscribe_link_alone() -> None:
    unsubscribe = tracking.unsubscribe_url(3, PUBLIC)
    page = (
        '<link href="https://cdn.example.com/a.css" rel="stylesheet">'
        '<a href="mailto:help@example.com">mail</a><a href="tel:15880000">call</a>'
        f'<a href="{unsubscribe}">unsubscribe</a>'
        "<A class='x' HREF='https://www.example.com/p?a=1&amp;b=2'>p</A>"
    )
    out = tracking.rewrite_links(page, 3, PUBLIC)
    assert 'href="https://cdn.example.com/a.css"' in out
    assert 'href="mailto:help@example.com"' in out and 'href="tel:15880000"' in out
    assert f'href="{unsubscribe}"' in out
    [tracked] = re.findall(r"HREF='([^']+)'", out)
    assert tracking.read_token(tracked.rsplit("/", 1)[1], "click").url == (
        "https://www.example.com/p?a=1&b=2"
    )
    assert tracking.rewrite_links(out, 3, PUBLIC) == out  # rewriting twice changes nothing


def test_informational_mail_has_no_ad_mark_but_keeps_the_unsubscribe_link() -> None:
    msg = _mail("birthday_greeting", message_id=8)
    text, page = _parts(_parse(msg.as_bytes()))
    assert not msg["Subject"].startswith("(광고)")
    assert "생일" in msg["Subject"]
    unsubscribe = tracking.unsubscribe_url(8, PUBLIC)
    assert unsubscribe in text and unsubscribe in page
    assert "광고성 정보" not in text
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_message_id_is_stable_per_message_key() -> None:
    first, again, other = _mail(message_id=1), _mail(message_id=1), _mail(message_id=2)
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"] != other["Message-ID"]


@pytest.mark.parametrize("to", ["", "not-an-address", "a@b@c", "x@example.com\r\nBcc: y@z.com"])
def test_an_unusable_recipient_is_a_permanent_failure(to: str) -> None:
    rendered = render_email("welcome", sample_context("email"))
    with pytest.raises(PermanentDeliveryError):
        build_email(rendered, to=to, message_id=1, message_key="k")


def test_a_451_is_transient_and_the_connection_is_kept(
    smtp_server: Callable[..., str], senders: Callable[[str], SmtpSender]
) -> None:
    handler = Collect("451 4.3.0 Try again later")
    sender = senders(smtp_server(handler))

    with pytest.raises(TransientDeliveryError, match="451"):
        sender.send_sync(_mail())
    sender.send_sync(_mail())

    assert len(handler.received) == 1
    assert sender.connections_opened == 1


def test_a_550_is_permanent(
    smtp_server: Callable[..., str], senders: Callable[[str], SmtpSender]
) -> None:
    handler = Collect("550 5.1.1 No such user")
    sender = senders(smtp_server(handler))

    with pytest.raises(PermanentDeliveryError, match="550"):
        sender.send_sync(_mail())
    assert handler.received == []
    sender.send_sync(_mail())  # the session goes on after a refusal
    assert len(handler.received) == 1
    assert sender.connections_opened == 1


def test_a_connection_dropped_mid_data_is_transient_and_the_next_send_reconnects(
    smtp_server: Callable[..., str], senders: Callable[[str], SmtpSender]
) -> None:
    handler = Collect("drop")
    sender = senders(smtp_server(handler))

    with pytest.raises(TransientDeliveryError):
        sender.send_sync(_mail())
    sender.send_sync(_mail())

    assert len(handler.received) == 1
    assert sender.connections_opened == 2


def test_a_slow_server_times_out_as_transient(
    smtp_server: Callable[..., str], senders: Callable[[str], SmtpSender]
) -> None:
    handler = Collect(delay=1.5)
    sender = senders(smtp_server(handler) + "?timeout=0.3")
    started = time.monotonic()
    with pytest.raises(TransientDeliveryError, match="timed out"):
        sender.send_sync(_mail())
    assert time.monotonic() - started < 1.4
    sender.send_sync(_mail())
    assert len(handler.received) == 1
    assert sender.connections_opened == 2  # the timed-out session was not reused


def test_no_server_is_transient(senders: Callable[[str], SmtpSender]) -> None:
    sender = senders(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    with pytest.raises(TransientDeliveryError, match="connection"):
        sender.send_sync(_mail())


def test_connections_are_pooled_across_threads_and_event_loops(
    smtp_server: Callable[..., str], senders: Callable[[str], SmtpSender]
) -> None:
    handler = Collect()
    sender = senders(smtp_server(handler) + "?pool=3")
    mails = [_mail(message_id=i) for i in range(1, 25)]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(sender.send_sync, mails[:20]))

    async def from_a_loop() -> list[str]:
        return list(await asyncio.gather(*(sender.send(m) for m in mails[20:])))

    answers += asyncio.run(from_a_loop())
    assert len(answers) == 24 and all("Q1" in a for a in answers)
    keys = sorted(_parse(raw)["X-Automation-Message"] for raw in handler.received)
    assert keys == sorted(f"enrollment:1:1:{i}" for i in range(1, 25))
    assert 1 <= sender.connections_opened <= 3
    assert len(handler.peers) == sender.connections_opened


def test_closing_lets_a_send_under_way_finish(
    smtp_server: Callable[..., str], senders: Callable[[str], SmtpSender]
) -> None:
    handler = Collect(delay=0.5)
    sender = senders(smtp_server(handler))
    answers: list[str] = []
    worker = threading.Thread(target=lambda: answers.append(sender.send_sync(_mail())))
    worker.start()
    time.sleep(0.2)
    sender.close()
    worker.join(5)
    assert answers and "Q1" in answers[0]
    assert len(handler.received) == 1


def test_credentials_in_the_url_log_in_and_a_refused_login_is_ours_at_auth(
    smtp_server: Callable[..., str], senders: Callable[[str], SmtpSender]
) -> None:
    handler = Collect()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and data == (b"mailer", b"p@ss word")
        if ok:
            handler.logins.append(data.login)
        return AuthResult(success=ok, handled=False)  # the server answers 535 on failure

    url = smtp_server(handler, authenticator=authenticator, auth_require_tls=False)
    host = url.removeprefix("smtp://")

    senders(f"smtp://mailer:p%40ss%20word@{host}").send_sync(_mail())
    assert handler.logins == [b"mailer"] and len(handler.received) == 1

    # Permanent, and said to be at AUTH: delivery pauses e-mail instead of bouncing anyone.
    with pytest.raises(PermanentSmtpFailure, match=r"SMTP auth: 535 5\.7\.8") as refused:
        senders(f"smtp://mailer:wrong@{host}?timeout=5").send_sync(_mail())
    assert (refused.value.stage, refused.value.enhanced) == (Stage.AUTH, "5.7.8")


def test_smtp_urls_choose_tls_ports_and_options() -> None:
    assert SmtpConfig.from_url("smtps://mx.example.com") == SmtpConfig(
        "mx.example.com", 465, use_tls=True
    )
    submission = SmtpConfig.from_url("smtp://u:p%2Fq@mx.example.com?starttls=true&pool=2")
    assert (submission.port, submission.start_tls, submission.use_tls) == (587, True, False)
    assert (submission.username, submission.password, submission.pool_size) == ("u", "p/q", 2)
    plain = SmtpConfig.from_url("smtp://relay:2525?timeout=5&verify=false")
    assert (plain.port, plain.start_tls, plain.timeout, plain.validate_certs) == (
        2525,
        False,
        5.0,
        False,
    )
    for bad in ("http://mx.example.com", "smtp://", "smtps://mx?starttls=true", "smtp://h?pool=x"):
        with pytest.raises(ConfigError):
            SmtpConfig.from_url(bad)


def test_the_sink_writes_one_eml_per_message_key(tmp_path: Path) -> None:
    sender = get_sender()
    assert isinstance(sender, SinkSender)

    first = sender.send_sync(_mail(message_id=1))
    assert sender.send_sync(_mail(message_id=1)) == first  # a re-send rewrites the same file
    asyncio.run(sender.send(_mail(message_id=2)))

    files = sorted((tmp_path / "outbox" / "email").glob("*.eml"))
    assert len(files) == 2
    assert all(f.name.startswith("enrollment_1_1_") for f in files)
    msg = _parse(files[0].read_bytes())
    assert msg["Subject"].startswith("(광고)")
    assert _parts(msg)[0].startswith("홍길동님")


def test_the_sender_follows_smtp_url(
    monkeypatch: pytest.MonkeyPatch, smtp_server: Callable[..., str]
) -> None:
    handler = Collect()
    monkeypatch.setenv("AUTOMATION_SMTP_URL", smtp_server(handler))
    reset_settings()
    sender = get_sender()
    assert isinstance(sender, SmtpSender)
    assert get_sender() is sender
    done = threading.Event()

    def in_a_worker_thread() -> None:
        get_sender().send_sync(_mail())
        done.set()

    worker = threading.Thread(target=in_a_worker_thread)
    worker.start()
    worker.join(10)
    assert done.is_set() and len(handler.received) == 1


@pytest.mark.parametrize(
    "subject",
    [
        "(광고) 윤태원님의 보장을 한 번 더 살펴보세요",  # folded at "번 더": read "번더"
        "(광고) 남궁민수님께 추천하는 교보 에듀케어 교육보험과 어린이 CI보험, 한 번 더 보세요",
        "Your policy P-1001 matures in 20 days",
    ],
)
def test_a_long_korean_subject_keeps_every_space(subject: str) -> None:
    rendered = render_email("cross_sell", sample_context("email"))
    rendered = type(rendered)(subject, rendered.html, rendered.text, rendered.advertising)
    mail = build_email(rendered, to="a@example.com", message_id=3, message_key="k:3")
    raw = mail.as_bytes()
    assert str(_parse(raw)["Subject"]) == subject
    assert max(len(line) for line in raw.splitlines()) <= 998
