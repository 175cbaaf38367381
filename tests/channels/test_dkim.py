"""DKIM: with a key configured every mail is signed over the headers that matter, and a
receiver holding the public key (here a DNS function, no network) verifies it."""

from __future__ import annotations

import base64
import math
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from aiosmtpd.controller import Controller

from automation.channels.email import build_email
from automation.channels.email_template import render_email
from automation.channels.errors import TransientDeliveryError
from automation.channels.mail import OutgoingMail
from automation.channels.signing import signer
from automation.channels.smtp import SmtpSender, close_senders, get_sender
from automation.channels.templates import sample_context
from automation.config import get_settings, reset_settings
from automation.errors import ConfigError
from tests.peers import free_port

SELECTOR = "crm2026"
RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption
SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, math.isqrt(p) + 1, 2))]


# --- a test key, made here: no openssl, no cryptography package --------------------------


def _probably_prime(n: int, rounds: int = 24) -> bool:
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        # The top two bits set: the product of two such primes has exactly 2*bits bits.
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if all(candidate % p for p in SMALL_PRIMES) and _probably_prime(candidate):
            return candidate


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _integers(*values: int) -> bytes:
    return _der(
        0x30, b"".join(_der(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big")) for v in values)
    )


def rsa_key(bits: int = 2048) -> tuple[bytes, bytes]:
    """A PEM private key (PKCS#1) and the public key as a DKIM ``p=`` value."""
    e = 65537
    while True:
        p, q = _prime(bits // 2), _prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and math.gcd(e, phi) == 1:
            break
    n, d = p * q, pow(e, -1, phi)
    private = _integers(0, n, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))
    lines = base64.encodebytes(private).replace(b"\n", b"")
    body = b"\n".join(lines[i : i + 64] for i in range(0, len(lines), 64))
    pem = b"-----BEGIN RSA PRIVATE KEY-----\n" + body + b"\n-----END RSA PRIVATE KEY-----\n"
    algorithm = _der(0x30, _der(0x06, RSA_OID) + _der(0x05, b""))
    spki = _der(0x30, algorithm + _der(0x03, b"\x00" + _integers(n, e)))
    return pem, base64.b64encode(spki)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    return rsa_key()


@pytest.fixture
def dkim_key(
    key_pair: tuple[bytes, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[bytes]:
    """DKIM on with a fresh key; yields the public key's ``p=`` value."""
    pem, public = key_pair
    path = tmp_path / "dkim.pem"
    path.write_bytes(pem)
    monkeypatch.setenv("AUTOMATION_PUBLIC_URL", "https://crm.example.com")
    monkeypatch.setenv("AUTOMATION_DKIM_PRIVATE_KEY", str(path))
    monkeypatch.setenv("AUTOMATION_DKIM_SELECTOR", SELECTOR)
    reset_settings()
    yield public
    close_senders()


def dns_for(public: bytes, asked: list[bytes] | None = None) -> Any:
    """A DNS TXT look-up that knows only our selector's record."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        if asked is not None:
            asked.append(name)
        if name == f"{SELECTOR}._domainkey.example.com.".encode():
            return b"v=DKIM1; k=rsa; p=" + public
        return None

    return lookup


def _mail(template: str = "product_recommendation", message_id: int = 7) -> OutgoingMail:
    context = sample_context("email")
    context["message"] = {"id": message_id, "key": f"enrollment:1:1:{message_id}"}
    return build_email(
        render_email(template, context),
        to="gildong.hong@example.com",
        message_id=message_id,
        message_key=f"enrollment:1:1:{message_id}",
    )


class Collect:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.original_content)
        return "250 2.0.0 Ok: queued"


def _over_smtp(msg: OutgoingMail) -> bytes:
    """The bytes a relay receives from our SMTP sender."""
    port = free_port()
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    sender = SmtpSender.from_url(f"smtp://127.0.0.1:{port}")
    try:
        sender.send_sync(msg)
    finally:
        sender.close()
        controller.stop()
    [raw] = handler.received
    return bytes(raw)


# --- the tests -----------------------------------------------------------------------------


def test_a_signed_mail_verifies_as_the_relay_receives_it(dkim_key: bytes) -> None:
    asked: list[bytes] = []
    raw = _over_smtp(_mail())

    assert dkim.verify(raw, dnsfunc=dns_for(dkim_key, asked))
    assert asked == [f"{SELECTOR}._domainkey.example.com.".encode()]
    fields = dict(re.findall(r"\b(\w+)=([^;]*)", _signature(raw)))
    assert (fields["d"], fields["s"], fields["a"]) == ("example.com", SELECTOR, "rsa-sha256")
    assert fields["c"] == "relaxed/relaxed"
    signed = set(re.sub(r"\s+", "", fields["h"]).lower().split(":"))
    assert signed >= {
        "from",
        "reply-to",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "mime-version",
        "content-type",
    }


def test_the_sink_keeps_a_verifiable_signature(dkim_key: bytes, tmp_path: Path) -> None:
    get_sender().send_sync(_mail(message_id=8))
    [eml] = (tmp_path / "outbox" / "email").glob("*.eml")
    assert dkim.verify(eml.read_bytes(), dnsfunc=dns_for(dkim_key))


@pytest.mark.parametrize(
    ("header", "forged"),
    [
        ("Subject", "Subject: =?utf-8?b?7ZWc67KI?="),
        ("List-Unsubscribe", "List-Unsubscribe: <https://evil.example.net/u/x>"),
        ("Reply-To", "Reply-To: thief@evil.example.net"),
    ],
)
def test_a_changed_header_or_body_fails_verification(
    dkim_key: bytes, header: str, forged: str
) -> None:
    raw = _over_smtp(_mail(message_id=9))
    lines = raw.split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{header}:".encode()))
    end = start + 1
    while lines[end][:1] in (b" ", b"\t"):
        end += 1
    changed = b"\r\n".join([*lines[:start], forged.encode(), *lines[end:]])
    assert not dkim.verify(changed, dnsfunc=dns_for(dkim_key))
    # The body: one character of the base64 text changed.
    body_at = raw.index(b"\r\n\r\n--") + 200
    flipped = raw[:body_at] + (b"A" if raw[body_at : body_at + 1] != b"A" else b"B")
    assert not dkim.verify(flipped + raw[body_at + 1 :], dnsfunc=dns_for(dkim_key))


def test_another_key_under_the_selector_does_not_verify(dkim_key: bytes) -> None:
    _, stranger = rsa_key(1024)
    assert not dkim.verify(_over_smtp(_mail()), dnsfunc=dns_for(stranger))


def test_dkim_domain_names_the_signer(dkim_key: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOMATION_DKIM_DOMAIN", "mail.example.org")
    reset_settings()
    assert "d=mail.example.org;" in _signature(_mail().as_bytes())


@pytest.mark.parametrize("setting", [None, ""])
def test_without_a_key_nothing_is_signed(
    monkeypatch: pytest.MonkeyPatch, setting: str | None
) -> None:
    if setting is not None:  # an empty line in .env means off, not the current folder
        monkeypatch.setenv("AUTOMATION_DKIM_PRIVATE_KEY", setting)
        reset_settings()
    assert signer() is None
    assert "DKIM-Signature" not in _mail()


@pytest.mark.parametrize(
    ("pem", "says"),
    [
        (b"not a key\n", "is not a PEM RSA private key"),
        (b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "not a PEM"),
        (None, "-bit key"),  # a 512-bit key, too short for receivers
    ],
)
def test_an_unusable_key_is_a_clear_error_and_mail_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pem: bytes | None, says: str
) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(pem if pem is not None else rsa_key(512)[0])
    monkeypatch.setenv("AUTOMATION_DKIM_PRIVATE_KEY", str(path))
    monkeypatch.setenv("AUTOMATION_DKIM_SELECTOR", SELECTOR)
    reset_settings()
    with pytest.raises(ConfigError, match=says):
        signer()
    with pytest.raises(TransientDeliveryError, match="DKIM_PRIVATE_KEY"):
        _mail()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"AUTOMATION_DKIM_SELECTOR": SELECTOR}, "needs both"),
        ({"AUTOMATION_DKIM_PRIVATE_KEY": "/nonexistent/dkim.pem"}, "needs both"),
        (
            {"AUTOMATION_DKIM_PRIVATE_KEY": "/nonexistent/k.pem", "AUTOMATION_DKIM_SELECTOR": "s"},
            "is not a readable file",
        ),
    ],
)
def test_half_a_dkim_configuration_is_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    with pytest.raises(ConfigError, match=says):
        get_settings()


def _signature(raw: bytes) -> str:
    match = re.search(rb"^DKIM-Signature:(.*?)\r?\n(?=\S)", raw, re.MULTILINE | re.DOTALL)
    assert match is not None, "no DKIM-Signature header"
    return match.group(1).decode()
