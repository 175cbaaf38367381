"""Delivery errors: transient ones are retried, permanent ones are not.

A transport reports what happened, not what it means for the customer. An SMTP
failure is an :class:`SmtpFailure`: the stage of the conversation it happened at, the
reply code, the RFC 3463 enhanced status code and the server's text (no code: the
connection, a timeout or a missing feature). ``delivery`` decides whether it bounces
the customer, fails the message or pauses the channel.
"""

from __future__ import annotations

import re
from enum import StrEnum

from automation.errors import AutomationError


class DeliveryError(AutomationError):
    """A message could not be handed over; ``reason`` says why, in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDeliveryError(DeliveryError):
    """Worth trying again later: a 4xx answer, a dropped connection, a timeout."""


class PermanentDeliveryError(DeliveryError):
    """Trying again will not help: a 5xx answer, a refused recipient, a bad address."""


class AddressError(PermanentDeliveryError):
    """The recipient's address cannot be put on the wire (found before any server said
    anything about it)."""


# A plain dot-atom address, as nearly every customer's and sender's is: the standard
# library's and aiosmtplib's parsers give it back unchanged, in Python, at ten times the
# cost, so the To header and the SMTP envelope take it as it is (others go through them).
PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


class Stage(StrEnum):
    """Where in an SMTP conversation a failure happened."""

    CONNECT = "connect"  # TCP, implicit TLS, the server's greeting
    EHLO = "ehlo"  # EHLO, or HELO after a refused EHLO
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL_FROM = "mail_from"
    RCPT_TO = "rcpt_to"
    DATA = "data"  # the DATA command, before any content
    AFTER_DATA = "after_data"  # the answer to the content


# RFC 3463: class.subject.detail, at the start of the text (RFC 2034 puts it there).
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")


def enhanced_code(text: str) -> str | None:
    """The enhanced status code a reply's text starts with (``5.7.0``), else None."""
    found = _ENHANCED.match(text.strip())
    return ".".join(found.groups()) if found else None


class SmtpFailure(DeliveryError):
    """What an SMTP server, or the way to it, did to one message."""

    def __init__(
        self, stage: Stage, code: int | None, text: str, enhanced: str | None = None
    ) -> None:
        self.stage = stage
        self.code = code
        self.text = " ".join(text.split())  # a multi-line reply as one line
        self.enhanced = enhanced or (enhanced_code(self.text) if code is not None else None)
        said = f"{code} {self.text}" if code is not None else self.text
        super().__init__(f"SMTP {stage.value}: {said}"[:300])


class TransientSmtpFailure(SmtpFailure, TransientDeliveryError):
    """A 4xx reply, a timeout, a lost connection."""


class PermanentSmtpFailure(SmtpFailure, PermanentDeliveryError):
    """A 5xx reply, or something no retry changes (a refused certificate, no AUTH)."""


def smtp_failure(
    stage: Stage, code: int | None, text: str, *, permanent: bool | None = None
) -> SmtpFailure:
    """The failure for a reply (permanent when 5xx, unless ``permanent`` says)."""
    if permanent is None:
        permanent = code is not None and 500 <= code < 600
    kind = PermanentSmtpFailure if permanent else TransientSmtpFailure
    return kind(stage, code, text)
