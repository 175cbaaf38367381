"""Building the MIME e-mail from a rendered template.

multipart/alternative (text, then HTML), UTF-8 in base64 (Korean takes 1.33× in base64
against up to 3× in quoted-printable, and base64 passes any relay). The HTML's links
go through the click route and an open pixel closes the body. RFC 8058 one-click
unsubscribe headers on every mail, and a ``Reply-To`` a customer's answer reaches
(``REPLY_TO``, else the sender). The ``Message-ID`` is derived from the message key,
so a re-send of the same message is recognisable as such. With a DKIM key configured
the finished mail is signed (``signing.py``).

The mail is written as it goes on the wire (``mail.py``), not built with
``EmailMessage``: that took 3.3 ms a mail, more than sending it. Each header is folded
here, once: the standard refolding would turn a token longer than a line (the
``List-Unsubscribe`` URL, ``X-Automation-Message``) into RFC 2047 encoded words, which a
mail client cannot read as a URL; names in ``From`` and ``Reply-To`` and a non-ASCII
subject are encoded words written by the standard library's own folding.
"""

from __future__ import annotations

import base64
import email.errors
import email.policy
import functools
import hashlib
import re
import string
from datetime import datetime
from email import base64mime
from email.header import Header
from email.headerregistry import Address
from email.utils import format_datetime

from automation import clock
from automation.channels.email_template import RenderedEmail
from automation.channels.errors import PLAIN_ADDRESS, AddressError
from automation.channels.mail import OutgoingMail, multipart_alternative
from automation.channels.signing import sign
from automation.channels.variables import sender
from automation.channels.zones import in_zone
from automation.config import get_settings
from automation.tracking import tokens

_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_HEADER_VALUE = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII: no injected lines
POLICY = email.policy.default.clone(refold_source="none")


def build_email(
    rendered: RenderedEmail, *, to: str, message_id: int, message_key: str
) -> OutgoingMail:
    """The e-mail to send for one message.

    Parameters:
        rendered: from :func:`~automation.channels.email_template.render_email`.
        to: the recipient's address.
        message_id: the message row's id (signs the tracking links).
        message_key: its idempotency key (``X-Automation-Message``, ``Message-ID``).

    Raises:
        AddressError: the recipient address is unusable.
        TransientDeliveryError: DKIM is configured and the key is unusable.
    """
    who = sender()
    base = get_settings().public_url.rstrip("/")
    if not _HEADER_VALUE.fullmatch(message_key):
        raise ValueError(f"a message key is printable ASCII, not {message_key!r}")
    address = recipient_address(to)
    unsubscribe = tokens.unsubscribe_url(message_id, base)
    boundary = f"=_{hashlib.sha256(f'boundary:{message_key}'.encode()).hexdigest()[:32]}"
    headers = (
        ("From", address_header("From", who["name"], who["address"])),
        ("Reply-To", address_header("Reply-To", who["name"], who["reply_to"])),
        ("To", address),
        ("Subject", subject_header(rendered.subject)),
        ("Date", date_header(clock.now(), get_settings().timezone)),
        ("Message-ID", message_id_header(message_key, who["address"])),
        ("List-Unsubscribe", f"<{unsubscribe}>,\n <{unsubscribe_mailto(message_id)}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("X-Automation-Message", message_key),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative;\n boundary="{boundary}"'),
    )
    html = tracked_html(rendered.html, message_id, base)
    body = multipart_alternative(boundary, (("text/plain", rendered.text), ("text/html", html)))
    bounce = get_settings().bounce_address or who["address"]
    mail = OutgoingMail(bounce, (address,), headers, body)
    return sign(mail)  # last: a header added after the signature could break it


@functools.lru_cache(maxsize=16)
def address_header(name: str, display_name: str, address: str) -> str:
    """``display_name <address>`` as a header value: a Korean name in an RFC 2047
    encoded word, folded as ``email.policy.default`` folds it."""
    parsed = POLICY.header_store_parse(name, Address(display_name, addr_spec=address))
    folded = POLICY.fold(*parsed)
    return folded[len(name) + 2 :].rstrip("\n")


def date_header(now: datetime, timezone: str) -> str:
    """The ``Date`` value of a mail sent at ``now``: in ``timezone`` (+0900, as Korean
    mail reads), to the second."""
    return _date_header(now.replace(microsecond=0), timezone)


@functools.lru_cache(maxsize=8)
def _date_header(second: datetime, timezone: str) -> str:
    # The mails of one second share it: the zone conversion and formatting once.
    return format_datetime(in_zone(second, timezone))


def subject_header(subject: str) -> str:
    """The ``Subject`` value, folded so that a reader gets back every space.

    The standard folding splits a long non-ASCII subject at a space and leaves that space
    between two RFC 2047 encoded words, where a reader drops it (RFC 2047 §6.2): "보장을
    한 번 더" was read "보장을 한 번더" in 36 demo mails. ``Header`` splits inside the
    encoded text instead, so each space travels encoded.
    """
    if subject.isascii():
        return subject if _HEADER_VALUE.fullmatch(subject.replace(" ", "!")) else _encoded(subject)
    return _base64_words(subject) or _encoded(subject)


def _encoded(subject: str) -> str:
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\n")


# ``Header("…", "utf-8", header_name="Subject")`` folds at 78 characters a line, the
# first after "Subject: ": up to 57 and then 65 characters of base64 besides the 12 of
# "=?utf-8?b?" and "?=" (the continuation's space counted), so at most 42 and then 48
# bytes of UTF-8 a word, cut between characters.
_FIRST_BYTES, _NEXT_BYTES = 42, 48


def _base64_words(subject: str) -> str | None:
    """What :func:`_encoded` writes for a non-ASCII one-line ``subject`` when it picks
    base64 (Korean text; the fold is the same), at a tenth of its cost (its splitter
    encodes the subject again for each character); None when it would pick
    quoted-printable (mostly ASCII), which :func:`_encoded` then writes."""
    try:
        raw = subject.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: Header raises it
        return None
    if subject.splitlines() != [subject] or base64mime.header_length(raw) >= _qp_length(raw):
        return None
    words, start, limit = [], 0, _FIRST_BYTES
    while len(raw) - start > limit:
        cut = start + limit  # as many whole characters as fit: back off a character's tail
        while raw[cut] & 0xC0 == 0x80:
            cut -= 1
        words.append(raw[start:cut])
        start, limit = cut, _NEXT_BYTES
    words.append(raw[start:])
    return "\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode('ascii')}?=" for word in words)


def _qp_length(raw: bytes) -> int:
    # email.quoprimime.header_length in one C call: 1 a safe byte, 3 an escaped one.
    return len(raw) + 2 * len(raw.translate(None, _QP_SAFE))


_QP_SAFE = b"-!*+/ " + (string.ascii_letters + string.digits).encode("ascii")


def recipient(to: str) -> Address:
    """The ``To`` address, or an :class:`AddressError` (the customer's address is bad, so
    the customer bounces): not an address, or not ASCII (we do not rely on relays
    speaking SMTPUTF8)."""
    try:
        address = Address(addr_spec=to.strip())
    except (ValueError, IndexError, email.errors.HeaderParseError) as exc:
        raise AddressError(f"not an e-mail address: {to!r} ({exc})") from None
    if not address.username or not address.domain or not address.addr_spec.isascii():
        raise AddressError(f"not a deliverable e-mail address: {to!r}")
    return address


def recipient_address(to: str) -> str:
    """:func:`recipient`'s ``addr_spec``."""
    address = to.strip()
    return address if PLAIN_ADDRESS.fullmatch(address) else recipient(to).addr_spec


def tracked_html(html: str, message_id: int, base_url: str) -> str:
    """``html`` with click-tracked links and the open pixel before ``</body>``."""
    pixel = (
        f'<img src="{tokens.open_pixel_url(message_id, base_url)}" width="1" height="1" '
        'alt="" style="display:block;border:0;width:1px;height:1px" />'
    )
    html = tokens.rewrite_links(html, message_id, base_url)
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return f"{html}\n{pixel}"
    cut = ends[-1].start()
    return f"{html[:cut]}{pixel}\n{html[cut:]}"


def message_id_header(message_key: str, sender_address: str) -> str:
    """``<hash-of-key@sender-domain>``: the same message always has the same id.

    Not ``make_msgid``: its time and random parts would make a re-send look new.
    """
    digest = hashlib.sha256(message_key.encode()).hexdigest()[:32]
    return f"<{digest}@{_domain(sender_address)}>"


def unsubscribe_mailto(message_id: int) -> str:
    """The mailto: half of ``List-Unsubscribe`` (``UNSUBSCRIBE_ADDRESS``)."""
    settings = get_settings()
    address = settings.unsubscribe_address or (f"unsubscribe@{_domain(sender()['address'])}")
    return f"mailto:{address}?subject=unsubscribe-{tokens.unsubscribe_token(message_id)}"


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"
