"""Sending e-mail: SMTP through a small pool of reused connections, or the sink.

``SMTP_URL``:

- empty (the embedded default): the sink, one ``.eml`` file per message key under
  ``outbox/email``; writing the same message again rewrites the same file.
- ``smtp://[user:password@]host[:port]`` plain (port 25), ``?starttls=true`` to
  upgrade (port 587), ``smtps://`` implicit TLS (port 465). More query options:
  ``timeout`` (seconds per command, default 30), ``pool`` (connections, default 4),
  ``verify=false`` (accept a self-signed relay certificate).

aiosmtplib connections belong to the event loop that opened them, and Dramatiq runs
actors in many threads, so each sender runs one event loop in its own thread and owns
its pool there; ``send`` (async, any loop) and ``send_sync`` (any thread) both hand the
work to that loop. Connecting costs several round trips (and a TLS handshake), so a
connection is reused until it has been idle a minute or carried 100 messages.

Errors say what happened, as an :class:`~automation.channels.errors.SmtpFailure`: the
stage (connect, EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA, after DATA), the reply
code, the enhanced status code and the server's text. A 4xx reply, a timeout or a lost
connection is transient, a 5xx reply permanent; what that means for the customer
(a bounce, or a sender-side failure that pauses the channel) ``delivery`` decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from automation.channels.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from automation.channels.futures import done
from automation.channels.mail import OutgoingMail
from automation.channels.outbox import file_stem, write_atomic
from automation.channels.smtp_session import open_session, reset, transact
from automation.config import get_settings
from automation.errors import ConfigError

MAX_IDLE_SECONDS = 60.0  # servers drop idle clients after a minute or so (Postfix: 300 s)
CHECK_IDLE_SECONDS = 2.0  # a connection idle longer than this is NOOP-checked before use
MAX_MESSAGES_PER_CONNECTION = 100  # many relays cap a session (Exchange: 100)
_TRUE = {"1", "true", "yes", "on"}


class Sender(Protocol):
    """Hands an e-mail over; returns the server's answer (often with a queue id)."""

    async def send(self, mail: OutgoingMail) -> str: ...

    def send_sync(self, mail: OutgoingMail) -> str: ...

    def submit(self, mail: OutgoingMail) -> Future[str]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SmtpConfig:
    """What an ``SMTP_URL`` says."""

    host: str
    port: int
    use_tls: bool = False
    start_tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    pool_size: int = 4
    validate_certs: bool = True

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse ``smtp://`` / ``smtps://`` URLs (see the module).

        Raises:
            ConfigError: another scheme, no host, or a bad option.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(f"SMTP_URL must be smtp://host[:port] or smtps://…, not {url!r}")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        use_tls = parts.scheme == "smtps"
        start_tls = query.get("starttls", "").lower() in _TRUE
        if use_tls and start_tls:
            raise ConfigError("SMTP_URL: smtps:// is already TLS; drop ?starttls=true")
        try:
            return cls(
                host=parts.hostname,
                port=parts.port or (465 if use_tls else 587 if start_tls else 25),
                use_tls=use_tls,
                start_tls=start_tls,
                username=unquote(parts.username) if parts.username else None,
                password=unquote(parts.password) if parts.password else None,
                timeout=float(query.get("timeout", 30)),
                pool_size=max(1, int(query.get("pool", 4))),
                validate_certs=query.get("verify", "true").lower() in _TRUE,
            )
        except ValueError as exc:
            raise ConfigError(f"SMTP_URL: {exc}") from None


@dataclass
class _Connection:
    client: aiosmtplib.SMTP
    sent: int = 0
    idle_since: float = field(default_factory=time.monotonic)


class SmtpSender:
    """SMTP with pooled connections, driven from one background event loop."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Touched only on the background loop.
        self._idle: list[_Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self.connections_opened = 0

    @classmethod
    def from_url(cls, url: str) -> SmtpSender:
        """A sender for an ``smtp://`` or ``smtps://`` URL."""
        return cls(SmtpConfig.from_url(url))

    async def send(self, mail: OutgoingMail) -> str:
        """Send ``mail`` from any event loop.

        Returns:
            The server's answer to the data, e.g. ``2.0.0 Ok: queued as 4Fx1``.

        Raises:
            TransientDeliveryError, PermanentDeliveryError: see the module.
        """
        future = self._submit(mail)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # our caller was cancelled, not the send
            raise TransientDeliveryError("the SMTP sender was closed mid-send") from None

    def send_sync(self, mail: OutgoingMail) -> str:
        """Send ``mail`` from any thread (a Dramatiq actor); blocks until answered."""
        try:
            return self._submit(mail).result()
        except CancelledError:
            raise TransientDeliveryError("the SMTP sender was closed mid-send") from None

    def submit(self, mail: OutgoingMail) -> Future[str]:
        """Start sending ``mail`` from any thread; the future gives the answer. Several
        submitted mails go out together over the pool's connections. A mail that
        cannot be serialised raises here; a cancelled future means the sender closed."""
        return self._submit(mail)

    def close(self) -> None:
        """Let sends under way finish (for up to one timeout), say QUIT on pooled
        connections and stop the background loop; what is still running is cancelled."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(
                2 * self.config.timeout + 5
            )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    def _submit(self, mail: OutgoingMail) -> Future[str]:
        # Serialised in the caller's thread: errors surface there and the shared loop
        # only does I/O.
        envelope = _envelope(mail)
        return asyncio.run_coroutine_threadsafe(self._deliver(*envelope), self._running_loop())

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._idle = []
                self._slots = asyncio.Semaphore(self.config.pool_size)
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=_run_loop, args=(loop, ready), name="smtp-sender", daemon=True
                )
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    async def _deliver(self, sender: str, recipients: list[str], data: bytes) -> str:
        assert self._slots is not None
        async with self._slots:
            conn = await self._checkout()
            try:
                answer = await transact(conn.client, sender, recipients, data)
            except DeliveryError as exc:
                self._checkin(conn, usable=await reset(conn.client, exc))
                raise
            except BaseException:
                self._checkin(conn, usable=False)
                raise
            conn.sent += 1
            self._checkin(conn, usable=conn.sent < MAX_MESSAGES_PER_CONNECTION)
            return answer

    async def _checkout(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            idle = time.monotonic() - conn.idle_since
            fresh = conn.client.is_connected and idle < MAX_IDLE_SECONDS
            if fresh and (idle < CHECK_IDLE_SECONDS or await _answers(conn.client)):
                return conn
            conn.client.close()
        conn = _Connection(await open_session(self.config))
        self.connections_opened += 1
        return conn

    def _checkin(self, conn: _Connection, *, usable: bool) -> None:
        if usable and conn.client.is_connected:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.client.close()

    async def _shutdown(self) -> None:
        running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if running:
            await asyncio.wait(running, timeout=self.config.timeout)
        idle, self._idle = self._idle, []
        for conn in idle:
            # The server may have left first; then there is nobody to say goodbye to.
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await conn.client.quit(timeout=min(self.config.timeout, 5.0))
            conn.client.close()


def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()  # their callers get a transient error, not a wait forever
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _answers(client: aiosmtplib.SMTP) -> bool:
    try:
        await client.noop(timeout=5.0)
    except (aiosmtplib.SMTPException, OSError):
        return False
    return True


def _envelope(mail: OutgoingMail) -> tuple[str, list[str], bytes]:
    if not mail.envelope_from or not mail.recipients:
        raise PermanentDeliveryError("the message has no sender or no recipient")
    return mail.envelope_from, list(mail.recipients), mail.as_bytes(linesep="\r\n")


class SinkSender:
    """The built-in sink: ``<dir>/<message key>.eml``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, mail: OutgoingMail) -> str:
        """As :meth:`send_sync` (a small local write)."""
        return self.send_sync(mail)

    def send_sync(self, mail: OutgoingMail) -> str:
        """Write ``mail``; returns ``sink:<file name>``."""
        key = str(mail.get("X-Automation-Message") or mail.get("Message-ID") or "")
        if not key:
            raise PermanentDeliveryError("the sink needs an X-Automation-Message header")
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{file_stem(key)}.eml"
        write_atomic(self.directory / name, mail.as_bytes())
        return f"sink:{name}"

    def submit(self, mail: OutgoingMail) -> Future[str]:
        """As :meth:`send_sync`, in this thread; the future is done."""
        return done(lambda: self.send_sync(mail))

    def close(self) -> None:
        """Nothing to release."""


def sender_for(url: str) -> Sender:
    """The sender an ``SMTP_URL`` names (empty: the sink)."""
    if not url:
        return SinkSender(get_settings().email_outbox)
    return SmtpSender.from_url(url)


_lock = threading.Lock()
_senders: dict[tuple[int, str], Any] = {}


def get_sender() -> Sender:
    """The sender of ``SMTP_URL``, one per process (a forked worker makes its own)."""
    key = (os.getpid(), get_settings().smtp_url)
    with _lock:
        if key not in _senders:
            _senders[key] = sender_for(key[1])
        sender: Sender = _senders[key]
        return sender


def close_senders() -> None:
    """Close and forget every sender (shutdown, tests)."""
    with _lock:
        senders = list(_senders.values())
        _senders.clear()
    for sender in senders:
        sender.close()
