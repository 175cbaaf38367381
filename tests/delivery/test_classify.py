"""What an SMTP failure means, by stage and code: only the recipient's permanent
failure bounces the customer; ours pauses the channel; the rest fails the message."""

from __future__ import annotations

import pytest

from automation.channels.errors import (
    AddressError,
    PermanentDeliveryError,
    Stage,
    TransientDeliveryError,
    smtp_failure,
)
from automation.delivery.classify import Verdict, judge

B, M, S, R = Verdict.BOUNCE, Verdict.MESSAGE, Verdict.SENDER, Verdict.RETRY
TABLE = [
    # before any recipient: never the customer's
    (Stage.CONNECT, "554 5.7.1 No SMTP service here", S),
    (Stage.CONNECT, "421 4.3.2 Service shutting down", R),
    (Stage.EHLO, "550 5.7.1 Go away", S),
    (Stage.EHLO, "550 5.1.1 nonsense, but at EHLO", S),
    (Stage.STARTTLS, "554 5.7.3 Not with you", S),
    (Stage.AUTH, "535 5.7.8 Authentication credentials invalid", S),
    (Stage.AUTH, "454 4.7.0 Temporary authentication failure", R),
    (Stage.MAIL_FROM, "530 5.7.0 Authentication required", S),
    (Stage.MAIL_FROM, "553 5.1.8 Sender domain does not exist", S),
    (Stage.MAIL_FROM, "550 5.1.1 even a 5.1.1 is not the recipient's here", S),
    (Stage.MAIL_FROM, "552 5.3.4 Message size exceeds fixed limit", M),
    (Stage.MAIL_FROM, "552 Message size exceeds fixed limit", M),
    (Stage.MAIL_FROM, "451 4.3.0 Try again", R),
    # the recipient
    (Stage.RCPT_TO, "550 5.1.1 <a@example.com>: No such user", B),
    (Stage.RCPT_TO, "550 5.1.2 Bad destination system address", B),
    (Stage.RCPT_TO, "553 5.1.3 Bad destination mailbox address syntax", B),
    (Stage.RCPT_TO, "556 5.1.10 Recipient address has null MX", B),
    (Stage.RCPT_TO, "550 5.2.1 Mailbox disabled", B),
    (Stage.RCPT_TO, "552 5.2.2 Mailbox full", B),
    (Stage.RCPT_TO, "550 5.1.7 Bad sender's mailbox address syntax", S),
    (Stage.RCPT_TO, "550 5.7.1 Relaying denied", S),
    (Stage.RCPT_TO, "554 5.7.1 Client host rejected", S),
    (Stage.RCPT_TO, "550 5.4.1 Recipient address rejected: Access denied", S),
    (Stage.RCPT_TO, "503 5.5.1 Need MAIL command", S),
    (Stage.RCPT_TO, "550 5.0.0 Rejected", M),
    (Stage.RCPT_TO, "450 4.2.1 Mailbox busy", R),
    (Stage.RCPT_TO, "421 4.7.0 Closing", R),
    # an old server without enhanced codes
    (Stage.RCPT_TO, "550 No such user here", B),
    (Stage.RCPT_TO, "551 User not local", B),
    (Stage.RCPT_TO, "550 Relaying denied", S),
    (Stage.RCPT_TO, "530 Authentication required", S),
    (Stage.RCPT_TO, "554 Transaction failed", S),
    (Stage.RCPT_TO, "552 Too many recipients", M),
    # the DATA command, then the content
    (Stage.DATA, "554 5.5.1 No valid recipients", S),
    (Stage.DATA, "550 5.1.1 No such user", S),
    (Stage.DATA, "451 4.3.0 Try again", R),
    (Stage.AFTER_DATA, "552 5.3.4 Message too big", M),
    (Stage.AFTER_DATA, "552 Message size exceeds maximum", M),
    (Stage.AFTER_DATA, "552 5.2.3 Message length exceeds administrative limit", M),
    (Stage.AFTER_DATA, "554 5.6.0 Malformed content", M),
    (Stage.AFTER_DATA, "550 5.1.1 <a@example.com>: No such user", B),
    (Stage.AFTER_DATA, "552 5.2.2 Mailbox full", B),
    (Stage.AFTER_DATA, "550 5.7.26 Unauthenticated mail (DMARC)", S),
    (Stage.AFTER_DATA, "554 5.7.1 Message rejected as spam", S),
    (Stage.AFTER_DATA, "554 5.3.0 Mail system error", S),
    (Stage.AFTER_DATA, "554 Transaction failed", M),
    (Stage.AFTER_DATA, "451 4.3.0 Try again later", R),
]


@pytest.mark.parametrize(("stage", "reply", "verdict"), TABLE)
def test_the_classification_table(stage: Stage, reply: str, verdict: Verdict) -> None:
    code, text = reply.split(" ", 1)
    assert judge(smtp_failure(stage, int(code), text)) == verdict


def test_failures_without_a_reply() -> None:
    refused_cert = smtp_failure(Stage.CONNECT, None, "certificate refused", permanent=True)
    assert judge(refused_cert) == Verdict.SENDER
    assert judge(smtp_failure(Stage.AFTER_DATA, None, "timed out")) == Verdict.RETRY
    assert judge(smtp_failure(Stage.CONNECT, None, "connection failed")) == Verdict.RETRY
    assert judge(AddressError("unusable address")) == Verdict.BOUNCE
    assert judge(PermanentDeliveryError("the message has no From")) == Verdict.MESSAGE
    assert judge(TransientDeliveryError("gateway timeout")) == Verdict.RETRY
