"""SMS gateways, chosen by ``SMS_URL`` (sizes and numbers: ``sms_text.py``).

- ``file://DIR`` (the embedded default ``file://./outbox/sms``): one JSON file per
  message, named by its message key, so writing the same message again is one file.
- ``http(s)://…``: a generic JSON gateway. We POST ``{"to", "from", "text", "subject",
  "kind", "message_key", "callback_url"}``; 2xx answers ``{"id": …}``; 4xx is a
  permanent refusal (except 408/429, which are "later"); 5xx, timeouts and connection
  errors are transient. ``message_key`` lets the gateway drop a re-send after a timeout
  that hid a success. Credentials go in the URL (``https://user:key@host/path``).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import orjson

from automation.channels.errors import PermanentDeliveryError, TransientDeliveryError
from automation.channels.outbox import file_stem, write_atomic
from automation.channels.sms_text import normalise_mobile
from automation.config import get_settings
from automation.errors import ConfigError

if TYPE_CHECKING:
    from automation.channels.sms_template import RenderedSms

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0


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


_JSON = {"Content-Type": "application/json"}


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
            # orjson: the same JSON as httpx's ``json=`` writes, at a fraction of its cost.
            response = self._client.post(self.url, content=orjson.dumps(payload), headers=_JSON)
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
    return _digits(settings.sms_sender_number or settings.sender_phone)


@functools.lru_cache(maxsize=8)
def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def callback_url() -> str:
    """Where the gateway reports delivery and replies: ``SMS_CALLBACK_URL``, else the
    callback route (``api/routes/sms.py``)."""
    settings = get_settings()
    return settings.sms_callback_url or f"{settings.public_url.rstrip('/')}/v1/sms/callback"


def gateway_for(url: str) -> SmsGateway:
    """The gateway a ``SMS_URL`` names."""
    if url.startswith("file://"):
        return FileGateway(Path(url.removeprefix("file://") or "."))
    if url.startswith(("http://", "https://")):
        return HttpGateway(url, timeout=get_settings().sms_timeout_seconds)
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
