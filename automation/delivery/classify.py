"""What a failed send means: retried, the recipient's (a bounce), this message's, or
ours (the sender's: the channel pauses).

Only a recipient's permanent failure bounces the customer, and a bounce is for good
(``hard_bounced``), so it takes a reply that names the recipient: a 5.1.x (bad mailbox,
bad domain) or 5.2.1/5.2.2 (mailbox disabled, full) at RCPT TO or after DATA (RFC 3463
enhanced status codes). A refusal before RCPT TO (the greeting, EHLO, STARTTLS, AUTH,
MAIL FROM), of the DATA command itself, or a 5.3/5.4/5.5/5.7 (system, routing,
protocol, security/policy) anywhere is about us, not the customer: one expired
credential must not mark every customer bounced. What is about this message only (too
big: 5.3.4, 5.2.3, 552; its content: 5.6.x) or unclear (5.0.0) fails the message alone.

Without an enhanced code (an old server), RFC 5321's basic codes decide: 550, 551 and
553 at RCPT TO name the mailbox (unless the text speaks of relaying or authentication),
552 is a size, 530/535 authentication, 500-504 a protocol error.
"""

from __future__ import annotations

from enum import StrEnum

from automation.channels.errors import (
    AddressError,
    DeliveryError,
    SmtpFailure,
    Stage,
    TransientDeliveryError,
)


class Verdict(StrEnum):
    """What delivery does with a failed send."""

    RETRY = "retry"  # transient: deferred with a doubling wait
    BOUNCE = "bounce"  # the recipient's, for good: bounced, ``email_bounced``
    MESSAGE = "message"  # this message's, or unclear: failed, the customer untouched
    SENDER = "sender"  # ours: failed, an alert, and the channel pauses


NAMES_RECIPIENT = (Stage.RCPT_TO, Stage.AFTER_DATA)
SENDERS_ADDRESS = frozenset({"5.1.7", "5.1.8"})  # bad sender's mailbox / system address
RECIPIENTS_MAILBOX = frozenset({"5.2.1", "5.2.2"})  # mailbox disabled, mailbox full
TOO_BIG = frozenset({"5.2.3", "5.3.4"})  # over the mailbox's or the system's size limit
OURS = frozenset({"3", "4", "5", "7"})  # subjects: mail system, routing, protocol, policy
_OURS_IN_TEXT = ("relay", "auth")  # "Relaying denied", "Authentication required"


def judge(error: DeliveryError) -> Verdict:
    """The verdict on a failed send (any channel's error)."""
    if isinstance(error, TransientDeliveryError):
        return Verdict.RETRY
    if isinstance(error, SmtpFailure):
        return smtp_verdict(error.stage, error.code, error.enhanced, error.text)
    if isinstance(error, AddressError):
        return Verdict.BOUNCE  # the customer's address cannot be written on an envelope
    return Verdict.MESSAGE


def smtp_verdict(stage: Stage, code: int | None, enhanced: str | None, text: str) -> Verdict:
    """The verdict on a permanent SMTP failure (see the module for the table)."""
    if code is None:  # permanent without a reply: a certificate, no STARTTLS or AUTH
        return Verdict.SENDER
    if code < 500:
        return Verdict.RETRY
    if stage == Stage.MAIL_FROM and (enhanced in TOO_BIG or (enhanced is None and code == 552)):
        return Verdict.MESSAGE  # refused by its SIZE before anything else was said
    if stage not in NAMES_RECIPIENT:  # before RCPT TO, or the DATA command itself
        return Verdict.SENDER
    if enhanced is not None:
        return _by_enhanced(enhanced)
    return _by_basic(stage, code, text)


def _by_enhanced(enhanced: str) -> Verdict:
    _, subject, _ = enhanced.split(".")
    if enhanced in TOO_BIG or subject == "6":
        return Verdict.MESSAGE
    if (subject == "1" and enhanced not in SENDERS_ADDRESS) or enhanced in RECIPIENTS_MAILBOX:
        return Verdict.BOUNCE
    if subject in OURS or enhanced in SENDERS_ADDRESS:
        return Verdict.SENDER
    return Verdict.MESSAGE  # 5.0.0, 5.2.0, 5.2.4: not clear enough to bounce or to pause


def _by_basic(stage: Stage, code: int, text: str) -> Verdict:
    if code == 552:
        return Verdict.MESSAGE
    if code in (530, 535) or 500 <= code <= 504 or any(w in text.lower() for w in _OURS_IN_TEXT):
        return Verdict.SENDER
    if stage == Stage.RCPT_TO and code in (550, 551, 553):
        return Verdict.BOUNCE
    if stage == Stage.RCPT_TO:
        return Verdict.SENDER  # 554 "transaction failed" to a recipient: the relay's policy
    return Verdict.MESSAGE
