"""Reading what the channels really wrote: the sink's ``.eml`` files and the SMS outbox.

Customers answer the mail they got, so the demo opens each sent e-mail from the sink
and follows its links (open pixel, tracked links, ``List-Unsubscribe``) as a mail
client would; an SMS is read from the file the gateway wrote.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from automation.config import get_settings
from automation.tracking.tokens import BadToken, read_token

_HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_IMG = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+/t/o/[^"']+)["']""", re.IGNORECASE)
_ANGLED = re.compile(r"<([^>]+)>")


@dataclass(frozen=True, slots=True)
class Link:
    """A tracked link of a mail: the path to request and where it leads."""

    path: str  # /t/c/<token>
    target: str  # the signed destination


@dataclass(frozen=True, slots=True)
class Mail:
    """What a mail client sees of one e-mail."""

    subject: str
    pixel: str | None  # /t/o/<token>
    links: tuple[Link, ...]
    unsubscribe: str | None  # /u/<token> (List-Unsubscribe, one-click)


def sent_file(provider_id: str | None) -> Path | None:
    """The file a sent message was written to, from its provider id (``sink:<name>`` for
    the e-mail sink, ``file:<name>`` for the SMS file outbox); None for other channels."""
    kind, _, name = (provider_id or "").partition(":")
    if kind == "sink":
        return get_settings().email_outbox / name
    if kind == "file":
        return sms_outbox() / name
    return None


def sms_outbox() -> Path:
    """The directory of the SMS file gateway (``SMS_URL=file://DIR``)."""
    return Path(get_settings().sms_url.removeprefix("file://") or ".")


def read_mail(path: Path) -> Mail:
    """Parse one ``.eml`` file into what a mail client would show and fetch."""
    # compat32 parses lazily: several times faster than the default policy, and the
    # parts are decoded by hand below.
    msg: Any = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
    html = ""
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            charset = part.get_content_charset() or "utf-8"
            html = part.get_payload(decode=True).decode(charset)
    pixel = _IMG.search(html)
    links = []
    for url in _HREF.findall(html):
        path_ = urlsplit(url).path
        if "/t/c/" not in path_:
            continue
        try:
            target = read_token(path_.rsplit("/", 1)[1], "click").url or ""
        except BadToken:
            continue
        links.append(Link(path_, target))
    return Mail(
        subject=str(email.header.make_header(email.header.decode_header(msg["Subject"]))),
        pixel=urlsplit(pixel.group(1)).path if pixel else None,
        links=tuple(links),
        unsubscribe=_unsubscribe_path(str(msg.get("List-Unsubscribe", ""))),
    )


def read_sms(path: Path) -> dict[str, Any]:
    """The JSON the file gateway wrote for one SMS."""
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _unsubscribe_path(header: str) -> str | None:
    for url in _ANGLED.findall(header):
        if url.startswith(("http://", "https://")):
            return urlsplit(url).path
    return None
