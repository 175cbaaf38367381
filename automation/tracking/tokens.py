"""Signed tracking tokens and link rewriting.

A token is ``base64url(payload) "." base64url(mac)``: the payload is compact JSON
(``{"k": kind, "m": message id, "u": url}``), the MAC the first 16 bytes of
HMAC-SHA256 under ``SECRET_KEY``. Tokens never expire: an unsubscribe link must keep
working for as long as the mail sits in someone's inbox.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import html
import json
import re
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Literal

from automation.config import get_settings
from automation.errors import AutomationError

TokenKind = Literal["open", "click", "unsubscribe"]

_CODES: dict[str, str] = {"open": "o", "click": "c", "unsubscribe": "u"}
_KINDS = {code: kind for kind, code in _CODES.items()}
_MAC_BYTES = 16  # 128 bits: unforgeable, and keeps the links short
_MAX_TOKEN = 4096  # a longer "token" is garbage; refuse before decoding it
_CONTEXT = b"automation.tracking.v1\x00"  # domain separation from other uses of the key

# href="http(s)://..." inside <a> and <area> tags only: a <link href> is a stylesheet,
# and counting its fetch as a click would be wrong.
_HREF = re.compile(
    r"""(<(?:a|area)\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']*)\2""",
    re.IGNORECASE,
)


class BadToken(AutomationError):
    """A tracking token was tampered with, garbled, or is of another kind."""


@dataclass(frozen=True)
class TokenData:
    """What a valid token says."""

    kind: TokenKind
    message_id: int
    url: str | None = None


def open_token(message_id: int) -> str:
    """The token of a message's open pixel."""
    return _sign_id("o", message_id)


def click_token(message_id: int, url: str) -> str:
    """The token of one link of a message; it carries the target ``url``."""
    if not _is_web_url(url):
        raise ValueError(f"only http(s) links are tracked, not {url!r}")
    if type(message_id) is not int:  # a bool is JSON's true, not a number
        return _sign({"k": "c", "m": message_id, "u": url})
    # The bytes json.dumps writes for the dict (its string encoder for the URL), without
    # making a JSONEncoder for each of an e-mail's links.
    payload = f'{{"k":"c","m":{message_id},"u":{encode_basestring(url)}}}'.encode()
    return f"{_b64(payload)}.{_b64(_mac(payload))}"


def unsubscribe_token(message_id: int) -> str:
    """The token of a message's unsubscribe link."""
    return _sign_id("u", message_id)


def read_token(token: str, kind: TokenKind) -> TokenData:
    """Check and decode a token of ``kind``.

    Parameters:
        token: as found in the URL.
        kind: the kind the route expects; a token of another kind is refused.

    Returns:
        The message id (and target URL for clicks).

    Raises:
        BadToken: tampered, garbled, or of another kind.
    """
    if len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise BadToken("malformed tracking token")
    body, mac = token.split(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (binascii.Error, ValueError):
        raise BadToken("malformed tracking token") from None
    if not hmac.compare_digest(given, _mac(payload)):
        raise BadToken("tracking token signature does not match")
    try:
        data = json.loads(payload)
    except ValueError:
        raise BadToken("malformed tracking token") from None
    return _token_data(data, kind)


def rewrite_links(html_text: str, message_id: int, base_url: str) -> str:
    """Point every http(s) link of ``html_text`` at the click route.

    ``mailto:``/``tel:`` links, the unsubscribe link and links already tracked are
    left alone. Attribute values are HTML-unescaped first, so the signed target is the
    URL the browser would have followed (``&amp;`` → ``&``).
    """
    base = base_url.rstrip("/")
    # The consent page's link is a capability: a click event must not store it.
    untouched = (f"{base}/u/", f"{base}/t/", f"{base}/consent/")

    def replace(match: re.Match[str]) -> str:
        url = _unescaped(match.group(3))
        if url.startswith(untouched):
            return match.group(0)
        quote = match.group(2)
        return f"{match.group(1)}{quote}{click_url(message_id, url, base)}{quote}"

    return _HREF.sub(replace, html_text)


@functools.lru_cache(maxsize=256)
def _unescaped(attribute: str) -> str:
    # The same few links in every mail of a template: unescaped once each.
    return html.unescape(attribute)


def open_pixel_url(message_id: int, base_url: str | None = None) -> str:
    """URL of the 1×1 open pixel (``GET /t/o/{token}``)."""
    return f"{_base(base_url)}/t/o/{open_token(message_id)}"


def click_url(message_id: int, url: str, base_url: str | None = None) -> str:
    """URL that records a click on ``url`` and redirects to it (``GET /t/c/{token}``)."""
    return f"{_base(base_url)}/t/c/{click_token(message_id, url)}"


def unsubscribe_url(message_id: int, base_url: str | None = None) -> str:
    """URL of the unsubscribe page and RFC 8058 one-click target (``/u/{token}``)."""
    return f"{_base(base_url)}/u/{unsubscribe_token(message_id)}"


def _sign(data: dict[str, object]) -> str:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload))}"


def _sign_id(code: str, message_id: int) -> str:
    if type(message_id) is not int:  # a bool is JSON's true, not a number
        return _sign({"k": code, "m": message_id})
    # The bytes json.dumps writes for {"k": code, "m": id}, without its encoder: an
    # e-mail signs its unsubscribe token three times and its open token once.
    return _signed_id(code, message_id, get_settings().secret_key)


@functools.lru_cache(maxsize=256)
def _signed_id(code: str, message_id: int, secret: str) -> str:
    # The same message's unsubscribe token is asked for by the template's footer, the
    # List-Unsubscribe URL and its mailto: signed once (per key: a test may change it).
    payload = f'{{"k":"{code}","m":{message_id}}}'.encode()
    return f"{_b64(payload)}.{_b64(_mac(payload))}"


def _mac(payload: bytes) -> bytes:
    return keyed_mac(_CONTEXT, payload)[:_MAC_BYTES]


def keyed_mac(context: bytes, payload: bytes) -> bytes:
    """HMAC-SHA256 of ``context + payload`` under the secret key."""
    mac = _keyed(get_settings().secret_key, context).copy()
    mac.update(payload)
    return mac.digest()


@functools.lru_cache(maxsize=8)
def _keyed(secret: str, context: bytes) -> hmac.HMAC:
    # HMAC with the key and the context already absorbed; each MAC copies it, instead
    # of hashing the key's two pads again.
    return hmac.new(secret.encode(), context, hashlib.sha256)


def _token_data(data: object, kind: TokenKind) -> TokenData:
    code = data.get("k") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(code, str) or _KINDS.get(code) != kind:
        raise BadToken(f"wrong kind of tracking token (expected {kind})")
    message_id = data.get("m")
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise BadToken("malformed tracking token")
    url = data.get("u")
    if kind == "click" and not (isinstance(url, str) and _is_web_url(url)):
        raise BadToken("malformed tracking token")
    return TokenData(kind, message_id, url if kind == "click" else None)


def _is_web_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _base(base_url: str | None) -> str:
    return (base_url or get_settings().public_url).rstrip("/")


def _b64(raw: bytes) -> str:
    # base64.urlsafe_b64encode in its two C steps (a token signs two of these)
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _unb64(text: str) -> bytes:
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
