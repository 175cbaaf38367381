"""The console's signed session cookie and its CSRF token.

The cookie holds the user's id, a random CSRF token and when it was issued, signed
with ``SECRET_KEY`` (``itsdangerous``); it is ``HttpOnly``, ``SameSite=Lax``, and
``Secure`` when ``PUBLIC_URL`` is https. A disabled user's cookie stops working at
their next request, because each request looks the user up. Every form carries the
session's token and every POST must return it (the login form, before there is a
session, carries one of a short-lived cookie of its own).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from automation.config import get_settings

COOKIE = "automation_session"
LOGIN_COOKIE = "automation_login"
MAX_AGE = 12 * 3600  # a working day; then sign in again
LOGIN_MAX_AGE = 3600


@dataclass(frozen=True)
class SessionData:
    """What a valid session cookie says."""

    user_id: int
    csrf: str


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=salt)


def issue(response: Response, user_id: int) -> None:
    """Start a session for ``user_id`` (a new CSRF token with it)."""
    value = _serializer("console-session").dumps({"u": user_id, "c": secrets.token_urlsafe(24)})
    _set(response, COOKIE, value, MAX_AGE)
    response.delete_cookie(LOGIN_COOKIE, path="/")


def read(cookie: str | None) -> SessionData | None:
    """The session a cookie names, or None when it is missing, forged or expired."""
    data = _load(cookie, "console-session", MAX_AGE)
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    return SessionData(data["u"], str(data.get("c", "")))


def end(response: Response) -> None:
    """Forget the session."""
    response.delete_cookie(COOKIE, path="/")


def login_token(cookie: str | None) -> tuple[str, str | None]:
    """The login form's CSRF token, and the cookie value to set for it (None: the
    cookie the browser sent holds it already)."""
    token = _load(cookie, "console-login", LOGIN_MAX_AGE)
    if isinstance(token, str):
        return token, None
    token = secrets.token_urlsafe(24)
    return token, _serializer("console-login").dumps(token)


def set_login_cookie(response: Response, value: str) -> None:
    """Give the browser the login form's token cookie."""
    _set(response, LOGIN_COOKIE, value, LOGIN_MAX_AGE)


def login_token_of(cookie: str | None) -> str | None:
    """The token the login cookie holds, if it is valid."""
    token = _load(cookie, "console-login", LOGIN_MAX_AGE)
    return token if isinstance(token, str) else None


def same_token(expected: str | None, given: Any) -> bool:
    """Whether a form returned the expected token (compared in constant time)."""
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


def _load(cookie: str | None, salt: str, max_age: int) -> Any:
    if not cookie:
        return None
    try:
        return _serializer(salt).loads(cookie, max_age=max_age)
    except BadSignature:  # SignatureExpired is one
        return None


def _set(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_settings().public_url.startswith("https://"),
    )
