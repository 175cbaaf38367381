"""Real peers the channel tests talk to, each on a free port: an SMTP server (aiosmtpd)
and an HTTP SMS gateway that answer every message and keep what they got."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller

from automation.channels.sms import close_gateways
from automation.channels.smtp import close_senders
from automation.config import reset_settings


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a test's own server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gateway(BaseHTTPRequestHandler):
    """A JSON SMS gateway: 200 with ``{"id": "gw-N"}`` for every message."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Gateway.received.append(body)
        answer = json.dumps({"id": f"gw-{len(Gateway.received)}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def sms_gateway_running(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A gateway serving while the block runs, set as ``SMS_URL``; yields what it got."""
    Gateway.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AUTOMATION_SMS_URL", f"http://127.0.0.1:{server.server_port}/send")
    reset_settings()
    close_gateways()
    try:
        yield Gateway.received
    finally:
        close_gateways()
        server.shutdown()
        server.server_close()


class Mailbox:
    """An SMTP server's handler keeping the mails it accepts, parsed."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(parsed)  # type: ignore[arg-type]
        return "250 2.0.0 Ok"


@contextmanager
def smtp_server_running(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """An aiosmtpd server while the block runs, set as ``SMTP_URL``; yields its mailbox."""
    port = free_port()
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AUTOMATION_SMTP_URL", f"smtp://127.0.0.1:{port}")
    reset_settings()
    close_senders()
    try:
        yield box
    finally:
        close_senders()
        controller.stop()
