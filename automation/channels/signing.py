"""DKIM signatures (RFC 6376) on outgoing e-mail, when a key is configured.

``DKIM_PRIVATE_KEY`` (a PEM RSA key file, PKCS#1 or PKCS#8), ``DKIM_SELECTOR`` and
``DKIM_DOMAIN`` (empty: the domain of ``SENDER_ADDRESS``); no key, no signature. The
receiver finds the public key in DNS at ``<selector>._domainkey.<domain>``.

The signature covers the headers a reader sees or a mailbox acts on (:data:`SIGNED`)
and the body, canonicalised relaxed/relaxed so a relay that refolds a header or
re-encodes line ends does not break it. It is computed over the bytes the SMTP sender
puts on the wire (CRLF line ends) and added on top as written (``mail.py`` never
refolds a header): nothing may change the mail after signing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from automation.channels.errors import TransientDeliveryError
from automation.channels.mail import OutgoingMail
from automation.config import get_settings
from automation.errors import ConfigError

SIGNED = (
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
    "content-transfer-encoding",
)
MIN_KEY_BITS = 1024  # receivers ignore signatures by shorter keys (RFC 8301)
_LABELS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9][A-Za-z0-9-]{0,62})*")


@dataclass(frozen=True)
class Signer:
    """Signs mail as ``domain`` with the key published under ``selector``."""

    selector: str
    domain: str
    key: bytes = field(repr=False)

    def sign(self, mail: OutgoingMail) -> OutgoingMail:
        """``mail`` with a ``DKIM-Signature`` header on top.

        Raises:
            TransientDeliveryError: dkimpy refused the message or the key.
        """
        headers = [name.encode() for name in SIGNED if name in mail]
        try:
            header = dkim.sign(
                mail.as_bytes(linesep="\r\n"),
                self.selector.encode(),
                self.domain.encode(),
                self.key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=headers,
            )
        except dkim.DKIMException as exc:
            raise TransientDeliveryError(f"DKIM signing failed: {exc}") from None
        name, _, value = header.decode("ascii").partition(":")
        return mail.with_first(name, value.strip().replace("\r\n", "\n"))


def signer() -> Signer | None:
    """The signer the ``DKIM_*`` settings describe, or None when no key is set.

    Raises:
        ConfigError: the key file cannot be read, is no RSA key, or is too short; the
            selector or domain is not a DNS name.
    """
    settings = get_settings()
    if settings.dkim_private_key is None:
        return None
    domain = settings.dkim_domain or settings.sender_address.rpartition("@")[2]
    return _load(settings.dkim_private_key, settings.dkim_selector, domain)


def sign(mail: OutgoingMail) -> OutgoingMail:
    """``mail`` signed if DKIM is configured; else ``mail`` as it is.

    Raises:
        TransientDeliveryError: the key is unusable; our configuration, not the
            recipient's fault, so the message waits instead of failing for good.
    """
    try:
        found = signer()
    except ConfigError as exc:
        raise TransientDeliveryError(str(exc)) from None
    return mail if found is None else found.sign(mail)


@functools.lru_cache(maxsize=4)
def _load(path: Path, selector: str, domain: str) -> Signer:
    for setting, name in (("SELECTOR", selector), ("DOMAIN", domain)):
        if not _LABELS.fullmatch(name):
            raise ConfigError(f"AUTOMATION_DKIM_{setting}: {name!r} is not a DNS name")
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"AUTOMATION_DKIM_PRIVATE_KEY: cannot read {path}: {exc}") from None
    try:
        modulus = parse_pem_private_key(key)["modulus"]
    except (UnparsableKeyError, ValueError, IndexError, TypeError):
        raise ConfigError(
            f"AUTOMATION_DKIM_PRIVATE_KEY: {path} is not a PEM RSA private key "
            "(-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)"
        ) from None
    if modulus.bit_length() < MIN_KEY_BITS:
        raise ConfigError(
            f"AUTOMATION_DKIM_PRIVATE_KEY: {path} is a {modulus.bit_length()}-bit key; "
            f"receivers need at least {MIN_KEY_BITS} bits (2048 recommended)"
        )
    return Signer(selector, domain, key)
