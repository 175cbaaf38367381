"""Where the harness's messages land: a real SMTP server (aiosmtpd) that it can stop and
start again on the same port, and a local HTTP SMS gateway. Both count what they were
handed by the message's key (``X-Automation-Message``; the SMS body's ``message_key``)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.peers import free_port

DRAIN = 0.5  # seconds a stopping SMTP server lets transactions in hand finish


class _Counting:
    """aiosmtpd handler: counts each mail by key; refuses new transactions while stopping."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.stopping = False
        self._lock = threading.Lock()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.stopping:
            # What a server going down says: not now, and it hangs up.
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 Service shutting down"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.original_content)
        with self._lock:
            self.received[str(headers.get("X-Automation-Message", "?"))] += 1
        return "250 2.0.0 Ok: queued"


class SmtpSink:
    """A real SMTP server on loopback; ``stop()`` ends it cleanly, ``start()`` brings it back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.handler = _Counting()
        self._controller: Controller | None = None

    @property
    def received(self) -> Counter[str]:
        return self.handler.received

    def start(self) -> None:
        self.handler.stopping = False
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Refuse new mail, let a mail in transfer finish, then close every connection: no
        mail is both received and reported lost to its sender (which would send it again)."""
        if self._controller is None:
            return
        self.handler.stopping = True
        time.sleep(DRAIN)
        self._controller.stop()
        self._controller = None


class SmsGateway:
    """An HTTP SMS gateway on loopback answering ``{"id": …}``, counting by message key."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    received[str(body.get("message_key"))] += 1
                    answer = json.dumps({"id": f"gw-{sum(received.values())}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/send"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
