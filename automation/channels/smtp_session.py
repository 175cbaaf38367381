"""One SMTP session: opened stage by stage, one mail transaction at a time, and what an
aiosmtplib error at a stage says happened (an :class:`SmtpFailure` naming the stage,
the reply code, the enhanced status code and the server's text).

Each step is its own call so that a failure knows where it happened: a ``530 5.7.0``
to MAIL FROM is the sender's (an expired credential), a ``550 5.1.1`` to RCPT TO is
the recipient's. The pool around it is :mod:`automation.channels.smtp`.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable
from typing import Protocol, TypeVar

import aiosmtplib
from aiosmtplib import SMTPStatus

from automation.channels.errors import (
    PLAIN_ADDRESS,
    AddressError,
    DeliveryError,
    SmtpFailure,
    Stage,
    smtp_failure,
)

T = TypeVar("T")


class Config(Protocol):
    """What a session needs of :class:`automation.channels.smtp.SmtpConfig`."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def use_tls(self) -> bool: ...
    @property
    def start_tls(self) -> bool: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def timeout(self) -> float: ...
    @property
    def validate_certs(self) -> bool: ...


async def open_session(config: Config) -> aiosmtplib.SMTP:
    """A connected, greeted (and, as configured, encrypted and logged-in) client.

    Raises:
        SmtpFailure: at the stage that failed.
    """
    client = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=config.use_tls,
        start_tls=False,  # done below, as its own stage
        validate_certs=config.validate_certs,
        timeout=config.timeout,
    )
    try:
        await _at(Stage.CONNECT, client.connect())
        await _at(Stage.EHLO, _hello(client))
        if config.start_tls:
            await _at(Stage.STARTTLS, client.starttls())
            await _at(Stage.EHLO, _hello(client))  # RFC 3207: what was said before TLS is void
        if config.username is not None:
            await _at(Stage.AUTH, client.login(config.username, config.password or ""))
    except BaseException:
        client.close()  # a refused login leaves an open socket behind
        raise
    return client


async def transact(client: aiosmtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> str:
    """MAIL FROM, RCPT TO for each recipient, DATA; returns the answer to the content.

    Not aiosmtplib's ``sendmail``: it reports neither the stage nor which of several
    recipients was refused. Every recipient must be accepted (we send one per mail).

    Raises:
        SmtpFailure: at the stage that failed; AddressError: an unusable recipient.
    """
    options = [f"SIZE={len(data)}"] if client.supports_extension("size") else []
    await _at(Stage.MAIL_FROM, _mail(client, sender, options))
    for recipient in recipients:
        await _at(Stage.RCPT_TO, _rcpt(client, recipient))
    # aiosmtplib sends the DATA command and the content in one call and raises the same
    # SMTPDataError for a refusal of either; the protocol's second write is the content.
    protocol = client.protocol
    if protocol is None:
        raise smtp_failure(Stage.DATA, None, "connection failed: lost before DATA")
    writes = 0
    write = protocol.write

    def counted(chunk: bytes) -> None:
        nonlocal writes
        writes += 1
        write(chunk)

    protocol.write = counted  # type: ignore[method-assign, assignment]
    try:
        response = await client.data(data)
    except Exception as exc:
        raise failure(Stage.AFTER_DATA if writes > 1 else Stage.DATA, exc) from exc
    finally:
        vars(protocol).pop("write", None)
    return response.message


# aiosmtplib's ``mail`` and ``rcpt`` parse each address with ``email.utils.parseaddr``
# (a sixth of the sender thread's time) only to give a plain one back unchanged. Other
# addresses, and a session that still needs its EHLO, go through aiosmtplib's own.
async def _mail(client: aiosmtplib.SMTP, sender: str, options: list[str]) -> None:
    if client.is_ehlo_or_helo_needed or not PLAIN_ADDRESS.fullmatch(sender):
        await client.mail(sender, options=options)
        return
    extra = [option.encode("ascii") for option in options]
    response = await client.execute_command(b"MAIL", b"FROM:<%s>" % sender.encode(), *extra)
    if response.code != SMTPStatus.completed:  # as aiosmtplib's mail
        raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)


async def _rcpt(client: aiosmtplib.SMTP, recipient: str) -> None:
    if client.is_ehlo_or_helo_needed or not PLAIN_ADDRESS.fullmatch(recipient):
        await client.rcpt(recipient)
        return
    response = await client.execute_command(b"RCPT", b"TO:<%s>" % recipient.encode())
    if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):  # as rcpt
        raise aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)


async def reset(client: aiosmtplib.SMTP, exc: DeliveryError) -> bool:
    """After a refusal, RSET the envelope and say the session may go on; after a
    timeout, a drop or a 421 ("closing") its state is unknown: False."""
    answered = isinstance(exc, SmtpFailure) and exc.code is not None and exc.code != 421
    if not client.is_connected or not (answered or isinstance(exc, AddressError)):
        return False
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        return False
    return True


def failure(stage: Stage, exc: Exception) -> DeliveryError:
    """What an aiosmtplib error at ``stage`` says happened.

    A reply keeps its code and text (4xx transient, 5xx permanent); a timeout or a lost
    connection is transient; a refused certificate, or a server without the STARTTLS or
    AUTH we are configured for, is permanent (our configuration, not the recipient).
    """
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        at = Stage.EHLO if isinstance(exc, aiosmtplib.SMTPHeloError) else stage
        return smtp_failure(at, exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return smtp_failure(stage, first.code, first.message)
    if _caused_by(exc, ssl.SSLCertVerificationError):
        return smtp_failure(stage, None, f"certificate refused: {exc}", permanent=True)
    if isinstance(exc, TimeoutError):  # aiosmtplib's timeouts are TimeoutErrors too
        return smtp_failure(stage, None, f"timed out: {exc}")
    if isinstance(exc, OSError | aiosmtplib.SMTPServerDisconnected):
        return smtp_failure(stage, None, f"connection failed: {exc}")
    if isinstance(exc, aiosmtplib.SMTPException):
        setup = stage in (Stage.STARTTLS, Stage.AUTH)
        return smtp_failure(stage, None, f"server lacks a feature: {exc}", permanent=setup)
    if isinstance(exc, ValueError):  # an address aiosmtplib will not put on the wire
        if stage == Stage.RCPT_TO:
            return AddressError(f"unusable address: {exc}")
        return smtp_failure(stage, None, f"unusable sender address: {exc}", permanent=True)
    raise exc


async def _hello(client: aiosmtplib.SMTP) -> None:
    try:
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        if not client.is_connected:
            raise
        await client.helo()  # an old server that knows only HELO


async def _at(stage: Stage, step: Awaitable[T]) -> T:
    try:
        return await step
    except Exception as exc:
        raise failure(stage, exc) from exc


def _caused_by(exc: BaseException | None, kind: type[BaseException]) -> bool:
    seen = 0
    while exc is not None and seen < 10:  # a cause chain can loop through __context__
        if isinstance(exc, kind):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False
