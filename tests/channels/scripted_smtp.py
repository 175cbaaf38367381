"""A real aiosmtpd server that answers a chosen stage of the conversation with a chosen
reply: the greeting, EHLO (and HELO), STARTTLS, AUTH, MAIL FROM, RCPT TO, the DATA
command, or the answer to the content. Everything else it accepts."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from automation.channels.errors import Stage
from tests.peers import free_port


class Script:
    """What the server says at each stage (``replies``; change it between sends), and
    what it saw."""

    def __init__(self, replies: dict[Stage, str] | None = None) -> None:
        self.replies: dict[Stage, str] = dict(replies or {})
        self.received: list[EmailMessage] = []
        self.commands: list[str] = []  # MAIL, RCPT, DATA as they arrived

    def reply(self, stage: Stage) -> str | None:
        return self.replies.get(stage)

    # aiosmtpd handler hooks
    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        refused = self.reply(Stage.EHLO)
        if refused:
            return [refused]
        session.host_name = hostname
        if Stage.STARTTLS in self.replies:  # advertise it, to refuse it
            responses.insert(-1, "250-STARTTLS")
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        refused = self.reply(Stage.EHLO)
        if refused:
            return refused
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.commands.append("MAIL")
        refused = self.reply(Stage.MAIL_FROM)
        if refused:
            return refused
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.commands.append("RCPT")
        refused = self.reply(Stage.RCPT_TO)
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refused = self.reply(Stage.AFTER_DATA)
        if refused:
            return refused
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 2.0.0 Ok: queued as Q1"

    def authenticate(self, *args: Any) -> AuthResult:
        refused = self.reply(Stage.AUTH)
        return AuthResult(success=not refused, handled=False, message=refused or None)


class _ScriptedSMTP(SMTP):
    """The stages aiosmtpd has no hook for: the greeting, STARTTLS, the DATA command."""

    def __init__(self, script: Script, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script = script
        self.greeted = False

    async def push(self, status: str) -> None:
        if not self.greeted:
            self.greeted = True
            status = self.script.reply(Stage.CONNECT) or status
        await super().push(status)

    async def smtp_STARTTLS(self, arg: str) -> None:
        await self.push(self.script.reply(Stage.STARTTLS) or "454 4.7.0 TLS not available")

    async def smtp_DATA(self, arg: str) -> None:
        self.script.commands.append("DATA")
        refused = self.script.reply(Stage.DATA)
        if refused:
            await self.push(refused)
            return
        await super().smtp_DATA(arg)


class _Controller(Controller):
    def __init__(self, script: Script, **kwargs: Any) -> None:
        self.script = script
        super().__init__(script, **kwargs)

    def factory(self) -> SMTP:
        return _ScriptedSMTP(self.script, self.handler, **self.SMTP_kwargs)


@pytest.fixture
def scripted_smtp() -> Iterator[Callable[..., tuple[Script, str]]]:
    """Start a scripted server; returns the script and the server's ``smtp://`` URL
    (with credentials when AUTH is scripted)."""
    controllers: list[Controller] = []

    def start(replies: dict[Stage, str] | None = None, *, auth: bool = False) -> tuple[Script, str]:
        script = Script(replies)
        port = free_port()
        auth = auth or Stage.AUTH in script.replies
        kwargs: dict[str, Any] = {}
        if auth:
            kwargs = {"authenticator": script.authenticate, "auth_require_tls": False}
        controller = _Controller(script, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        user = "mailer:secret@" if auth else ""
        return script, f"smtp://{user}127.0.0.1:{port}?timeout=5"

    yield start
    for controller in controllers:
        controller.stop()
