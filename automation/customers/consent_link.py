"""The signed link to a customer's consent page (``/consent/{token}``).

The token names the customer and the time it was issued, signed with ``SECRET_KEY``
by ``itsdangerous`` (the console's session signer, with a salt of its own so neither
token passes for the other). It is the capability: whoever holds the link may answer
for the customer, so it lapses ``CONSENT_LINK_VALID_DAYS`` after the mail was made.
Times come from :mod:`automation.clock`, so a frozen or replayed clock ages links too.
"""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from automation import clock
from automation.config import get_settings
from automation.errors import AutomationError

SALT = "consent-page"
MAX_TOKEN = 512  # a longer "token" is garbage; refuse before decoding it
PATH = "/consent/"


class BadConsentLink(AutomationError):
    """The link was tampered with, garbled, or has expired (``expired`` says which)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class _ClockSigner(TimestampSigner):
    """Stamps and ages tokens by the engine's clock, not the wall clock."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=SALT, signer=_ClockSigner)


def consent_token(customer_id: str) -> str:
    """A token for ``customer_id``'s consent page, issued now."""
    return str(_serializer().dumps({"c": customer_id}))


def consent_url(customer_id: str, base_url: str | None = None) -> str:
    """The consent page's address on this engine (``PUBLIC_URL``)."""
    base = (base_url or get_settings().public_url).rstrip("/")
    return f"{base}{PATH}{consent_token(customer_id)}"


def read_consent_token(token: str) -> tuple[str, datetime]:
    """The customer a token names and when it was issued.

    Raises:
        BadConsentLink: forged, garbled, or older than ``CONSENT_LINK_VALID_DAYS``.
    """
    if not token or len(token) > MAX_TOKEN:
        raise BadConsentLink("malformed consent link")
    max_age = get_settings().consent_link_valid_days * 86400
    try:
        data, issued = _serializer().loads(token, max_age=max_age, return_timestamp=True)
    except SignatureExpired:
        raise BadConsentLink("the consent link has expired", expired=True) from None
    except (BadSignature, ValueError, UnicodeError):
        raise BadConsentLink("the consent link's signature does not match") from None
    customer_id = data.get("c") if isinstance(data, dict) else None
    if not isinstance(customer_id, str) or not customer_id:
        raise BadConsentLink("malformed consent link")
    return customer_id, issued
