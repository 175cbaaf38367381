"""SMS: byte counting, and the gateways chosen by ``SMS_URL``.

- ``file://DIR`` (the embedded default ``file://./outbox/sms``): one JSON file per
  message, named by its message key, so writing the same message again is one file.
- ``http(s)://…``: a generic JSON gateway. We POST ``{"to", "from", "text", "subject",
  "kind", "message_key", "callback_url"}``; 2xx answers ``{"id": …}``; 4xx is a
  permanent refusal (except 408/429, which are "later"); 5xx, timeouts and connection
  errors are transient. ``message_key`` lets the gateway drop a re-send after a timeout
  that hid a success. Credentials go in the URL (``https://user:key@host/path``).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from automation.channels.errors import PermanentDeliveryError, TransientDeliveryError
from automation.config import get_settings

if TYPE_CHECKING:
    from automation.channels.templates import RenderedSms

log = logging.getLogger(__name__)

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
LMS_SUBJECT_MAX_BYTES = 40  # what Korean carriers display; longer subjects are cut
DEFAULT_TIMEOUT_SECONDS = 10.0

_WIDE = "automation.sms_wide"
_MOBILE = re.compile(r"01[016789]\d{7,8}")


def _count_as_two(exc: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return b"??" * (exc.end - exc.start), exc.end


codecs.register_error(_WIDE, _count_as_two)


def sms_size(text: str) -> int:
    """Bytes ``text`` takes in an SMS: CP949, 2 per Hangul syllable, 2 per character
    outside it (emoji), 1 per newline.

    CP949 rather than Python's ``euc-kr``: the latter spells the 8,822 syllables
    outside KS X 1001 (똠, 뷁) as 8-byte jamo sequences, which no carrier counts.
    """
    return len(text.replace("\r\n", "\n").encode("cp949", errors=_WIDE))


def truncate_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` SMS bytes."""
    while sms_size(text) > limit:
        text = text[:-1]
    return text


def normalise_mobile(number: str) -> str:
    """``010-1234-5678`` / ``+82 10 1234 5678`` → ``01012345678``.

    Raises:
        PermanentDeliveryError: not a Korean mobile number.
    """
    digits = re.sub(r"[\s().-]", "", number or "")
    if digits.startswith("+82"):
        digits = "0" + digits[3:]
    if not _MOBILE.fullmatch(digits):
        raise PermanentDeliveryError(f"not a mobile number: {number!r}")
    return digits


@dataclass(frozen=True)
class OutgoingSms:
    """One SMS as handed to a gateway."""

    to: str
    text: str
    subject: str | None
    kind: str
    size: int
    message_key: str

    @classmethod
    def of(cls, rendered: RenderedSms, *, to: str, message_key: str) -> OutgoingSms:
        """The rendered SMS addressed to ``to`` (normalised; refused if not a mobile)."""
        return cls(
            normalise_mobile(to),
            rendered.text,
            rendered.subject,
            rendered.kind,
            rendered.size,
            message_key,
        )


class SmsGateway(Protocol):
    """Hands an SMS to a carrier; returns the gateway's id for it."""

    def send(self, sms: OutgoingSms) -> str: ...

    def close(self) -> None: ...


class FileGateway:
    """The embedded default: ``<dir>/<message key>.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, sms: OutgoingSms) -> str:
        """Write the SMS as JSON; the same message key overwrites the same file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{file_stem(sms.message_key)}.json"
        body = {
            "to": sms.to,
            "from": sender_number(),
            "text": sms.text,
            "subject": sms.subject,
            "kind": sms.kind,
            "size": sms.size,
            "message_key": sms.message_key,
        }
        write_atomic(self.directory / name, json.dumps(body, ensure_ascii=False, indent=2).encode())
        return f"file:{name}"

    def close(self) -> None:
        """Nothing to release."""


class HttpGateway:
    """A JSON-over-HTTP gateway; one pooled ``httpx.Client``, safe across threads."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout, headers={"User-Agent": "automation-sms/1"})

    def send(self, sms: OutgoingSms) -> str:
        """POST the SMS; returns the gateway's ``id``.

        Raises:
            TransientDeliveryError: 5xx, 408, 429, timeout, connection error.
            PermanentDeliveryError: any other 4xx, with the gateway's reason.
        """
        payload = {
            "to": sms.to,
            "from": sender_number(),
            "text": sms.text,
            "subject": sms.subject,
            "kind": sms.kind,
            "message_key": sms.message_key,
            "callback_url": callback_url(),
        }
        try:
            response = self._client.post(self.url, json=payload)
        except httpx.TimeoutException:
            raise TransientDeliveryError("SMS gateway timed out") from None
        except httpx.TransportError as exc:
            raise TransientDeliveryError(f"SMS gateway unreachable: {exc}") from None
        return _answer(response, sms.message_key)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _answer(response: httpx.Response, message_key: str) -> str:
    status = response.status_code
    if 200 <= status < 300:
        provider_id = _json(response).get("id")
        if provider_id in (None, ""):
            # Accepted all the same: raising would send it twice.
            log.warning("SMS gateway accepted %s without an id", message_key)
            return f"http:{status}"
        return str(provider_id)
    reason = f"SMS gateway answered {status}: {_reason(response)}"
    if status >= 500 or status in (408, 429):
        raise TransientDeliveryError(reason)
    if 400 <= status < 500:
        raise PermanentDeliveryError(reason)
    raise TransientDeliveryError(reason)  # 1xx/3xx: a misconfigured URL, not the recipient


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _reason(response: httpx.Response) -> str:
    data = _json(response)
    for key in ("reason", "error", "message", "detail"):
        if isinstance(data.get(key), str) and data[key]:
            return str(data[key])
    return response.text.strip()[:200] or response.reason_phrase


def sender_number() -> str:
    """The pre-registered calling number (발신번호) the SMS is sent from."""
    settings = get_settings()
    return re.sub(r"\D", "", settings.sms_sender_number or settings.sender_phone)


def callback_url() -> str:
    """Where the gateway reports delivery and replies: ``SMS_CALLBACK_URL``, else the
    callback route (``api/routes/sms.py``)."""
    settings = get_settings()
    return settings.sms_callback_url or f"{settings.public_url.rstrip('/')}/v1/sms/callback"


def file_stem(key: str) -> str:
    """A file name for a message key: readable, safe, and distinct for distinct keys."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[:80] or "message"
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def gateway_for(url: str) -> SmsGateway:
    """The gateway a ``SMS_URL`` names."""
    if url.startswith("file://"):
        return FileGateway(Path(url.removeprefix("file://") or "."))
    if url.startswith(("http://", "https://")):
        return HttpGateway(url, timeout=get_settings().sms_timeout_seconds)
    from automation.errors import ConfigError

    raise ConfigError(f"SMS_URL must be file://DIR or http(s)://…, not {url!r}")


_lock = threading.Lock()
_gateways: dict[tuple[int, str], SmsGateway] = {}


def get_gateway() -> SmsGateway:
    """The gateway of ``SMS_URL``, one per process (a forked worker makes its own)."""
    key = (os.getpid(), get_settings().sms_url)
    with _lock:
        if key not in _gateways:
            _gateways[key] = gateway_for(key[1])
        return _gateways[key]


def close_gateways() -> None:
    """Close and forget every gateway (tests; a settings change)."""
    with _lock:
        gateways = list(_gateways.values())
        _gateways.clear()
    for gateway in gateways:
        gateway.close()
