"""Offer tokens: each personalized item carries one, so the site's ``offer_viewed`` and
``offer_clicked`` events say exactly what was shown, to whom, by which rule, and
whether the person was in the holdout. HMAC-SHA256 with ``SECRET_KEY`` (a context of
its own, apart from the tracking links'), 128-bit tag, base64url: a forged or edited
token is refused and credits nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from automation.config import get_settings
from automation.errors import ValidationError

_CONTEXT = b"automation.offer.v1\x00"
_TAG = 16
MAX_TOKEN = 1024


class BadOfferToken(ValidationError):
    """The token was tampered with, garbled or is not an offer token."""


@dataclass(frozen=True)
class OfferToken:
    """What an item's token says."""

    rule: str  # the rule id, or the item's kind for items no rule made
    kind: str  # greeting, product, content, offer …
    key: str  # the product, content or offer key (or the greeting's kind)
    slot: str
    holdout: bool
    person: str  # customer id, or "v:" + visitor id
    issued_at: datetime


def sign(token: OfferToken) -> str:
    """The token of one item."""
    data = {
        "r": token.rule,
        "k": token.kind,
        "i": token.key,
        "s": token.slot,
        "h": 1 if token.holdout else 0,
        "p": token.person,
        "t": int(token.issued_at.timestamp()),
    }
    # orjson writes the bytes json.dumps(separators=(",", ":"), ensure_ascii=False) wrote,
    # in a sixteenth of the time (3 → 0.2 µs): an answer signs a dozen tokens.
    payload = orjson.dumps(data)
    return _b64(payload + _mac(payload)[:_TAG])


def read(text: str) -> OfferToken:
    """The item a token names; raises :class:`BadOfferToken`."""
    if not isinstance(text, str) or not text or len(text) > MAX_TOKEN:
        raise BadOfferToken("not an offer token")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise BadOfferToken("not an offer token") from None
    payload, tag = raw[:-_TAG], raw[-_TAG:]
    if len(raw) <= _TAG or not hmac.compare_digest(tag, _mac(payload)[:_TAG]):
        raise BadOfferToken("the offer token's signature does not match")
    try:
        data: dict[str, Any] = json.loads(payload)
        return OfferToken(
            str(data["r"]),
            str(data["k"]),
            str(data["i"]),
            str(data["s"]),
            bool(data["h"]),
            str(data["p"]),
            datetime.fromtimestamp(int(data["t"]), UTC),
        )
    except (ValueError, KeyError, TypeError):
        raise BadOfferToken("the offer token is garbled") from None


def _mac(payload: bytes) -> bytes:
    mac = _keyed(get_settings().secret_key).copy()  # the key's pads are hashed once
    mac.update(payload)
    return mac.digest()


@functools.lru_cache(maxsize=4)
def _keyed(secret: str) -> hmac.HMAC:
    """The HMAC state after the key and the context, to copy per token."""
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
