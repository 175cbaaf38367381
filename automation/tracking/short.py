"""Short tracked links for SMS: ``<PUBLIC_URL>/s/<code>``, a handful of bytes each.

An e-mail's click token carries its target URL (``tokens.py``) and runs past 100
characters; an SMS has 90 bytes in all. A short code names only the message and which
of its links (``p`` product, ``c`` consultation, ``h`` home, ``m`` my page), signed:
``<message id, base 62><link letter><8 characters of MAC>``. The target is worked out
at click time from the message: the product page of the product its journey chose
(``payload.product_code``, fixed when the message was decided), else the site's page.
A forged code redirects nowhere but the insurer's own site, so no open redirect.

A click is stored as ``sms_clicked`` (id ``click:<message>:<link>:<minute>``, a double
tap within the minute is one click), flagged like an e-mail click when it looks like a
link previewer's fetch.
"""

from __future__ import annotations

import base64
import hmac
import logging
from datetime import UTC
from urllib.parse import quote

from automation import clock
from automation.config import get_settings
from automation.db import session_scope
from automation.events.catalog import BOT_SUFFIX
from automation.events.ingest import ingest
from automation.events.schema import EventIn
from automation.models import Message
from automation.tracking.responses import Fetch, bot_reason, message_facts
from automation.tracking.tokens import keyed_mac

log = logging.getLogger(__name__)

LINKS = {"p": "product", "c": "consult", "h": "home", "m": "mypage"}
_LETTERS = {name: letter for letter, name in LINKS.items()}
_PATHS = {"p": "/products", "c": "/consultation", "h": "/", "m": "/mypage"}
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MAC_CHARS = 8  # 6 bytes: 48 bits, and a forgery only reaches the insurer's own pages
_CONTEXT = b"automation.short-link.v1\x00"  # apart from the click tokens' MACs


def short_url(message_id: int, link: str) -> str:
    """``<PUBLIC_URL>/s/<code>`` for ``link`` (product, consult, home, mypage) of a message."""
    base = get_settings().public_url.rstrip("/")
    return f"{base}/s/{short_code(message_id, link)}"


def short_code(message_id: int, link: str) -> str:
    """The signed code of one link of a message."""
    if message_id < 0 or link not in _LETTERS:
        raise ValueError(f"no short link for message {message_id} / {link!r}")
    head = f"{_base62(message_id)}{_LETTERS[link]}"
    return head + _mac(head)


def read_code(code: str) -> tuple[int, str] | None:
    """(message id, link letter) of a genuine code, else None."""
    # Base 62 only: compare_digest refuses non-ASCII text, and nothing else is a code.
    if not 1 + 1 + _MAC_CHARS <= len(code) <= 24 or not (code.isascii() and code.isalnum()):
        return None
    head, mac = code[:-_MAC_CHARS], code[-_MAC_CHARS:]
    if not hmac.compare_digest(mac, _mac(head)) or head[-1] not in LINKS:
        return None
    digits = head[:-1]
    if not digits or any(c not in _DIGITS for c in digits):
        return None
    value = 0
    for char in digits:
        value = value * 62 + _DIGITS.index(char)
    return value, head[-1]


def follow(code: str, fetch: Fetch) -> str | None:
    """The page a short code leads to, after storing the click; None for a bad code.
    Never raises on storing: the customer gets to the page whatever happens."""
    found = read_code(code)
    if found is None:
        return None
    message_id, letter = found
    with session_scope() as session:
        message = session.get(Message, message_id)
        product = (message.payload or {}).get("product_code") if message else None
    site = get_settings().site.rstrip("/")
    target = f"{site}{_PATHS[letter]}"
    if letter == "p" and isinstance(product, str) and product:
        target = f"{site}/products/{quote(product)}"
    try:
        _record(message_id, LINKS[letter], target, fetch)
    except Exception:
        log.exception("short-link click on message %s not recorded", message_id)
    return target


def _record(message_id: int, link: str, url: str, fetch: Fetch) -> None:
    facts = message_facts(message_id)
    if facts is None:
        return
    now = clock.now()
    bot = bot_reason(fetch, facts, now)
    props = {**facts.properties(), "channel": facts.channel, "link": link, "url": url}
    props |= fetch.properties()
    props |= {"suspected_bot": True, "bot_reason": bot} if bot else {"suspected_bot": False}
    minute = now.astimezone(UTC).strftime("%Y%m%d%H%M")
    event_id = f"click:{message_id}:{link}:{minute}" + (BOT_SUFFIX if bot else "")
    event = EventIn(event_id, "sms_clicked", now.astimezone(UTC), None, facts.customer_id, props)
    ingest([event], source="tracking")


def _mac(head: str) -> str:
    return base64.urlsafe_b64encode(keyed_mac(_CONTEXT, head.encode())[:6]).decode("ascii")


def _base62(value: int) -> str:
    out = ""
    while True:
        value, rest = divmod(value, 62)
        out = _DIGITS[rest] + out
        if not value:
            return out
