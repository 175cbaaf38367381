"""API keys: created once, shown once, stored as a SHA-256 hash, checked by scope."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from sqlmodel import col, select

from automation import clock
from automation.config import get_settings
from automation.db import session_scope
from automation.errors import AuthError, ValidationError
from automation.models import ApiKey, Scope

_cache: dict[str, tuple[float, tuple[str, str] | None]] = {}  # digest → (expiry, (scope, name))
_cache_lock = threading.Lock()


def create_key(scope: str, name: str | None = None) -> str:
    """Store a new key's hash and return the key (the only time it is seen)."""
    try:
        scope_ = Scope(scope)
    except ValueError:
        raise ValidationError(f"scope '{scope}' is not one of ingest, admin, agent") from None
    key = f"ak_{scope_.value}_{secrets.token_urlsafe(24)}"
    with session_scope() as session:
        session.add(
            ApiKey(
                name=name or f"{scope_.value}-{clock.now():%Y%m%d%H%M%S}",
                scope=scope_.value,
                prefix=key[:12],
                key_hash=_hash(key),
            )
        )
    return key


def check_key(key: str | None, *scopes: Scope) -> str:
    """The scope of ``key`` if it is valid for one of ``scopes`` (admin passes everywhere)."""
    if not key:
        raise AuthError("missing X-API-Key header")
    found = _lookup(key)
    if found is None:
        raise AuthError("unknown or revoked API key")
    scope = found[0]
    if scope != Scope.ADMIN and scope not in scopes:
        raise AuthError(f"this key has the '{scope}' scope; this route needs {' or '.join(scopes)}")
    return scope


def key_name(key: str | None) -> str:
    """The name a valid key was created with (an agent's identity, say)."""
    found = _lookup(key) if key else None
    if found is None:
        raise AuthError("unknown or revoked API key")
    return found[1]


def _lookup(key: str) -> tuple[str, str] | None:
    # Keys are checked on every batch; a short cache keeps the database out of the hot
    # path, and revocation takes effect within api_key_cache_seconds.
    digest = _hash(key)
    ttl = get_settings().api_key_cache_seconds
    with _cache_lock:
        hit = _cache.get(digest)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    with session_scope() as session:
        row = session.exec(
            select(ApiKey.scope, ApiKey.name).where(
                ApiKey.key_hash == digest, col(ApiKey.revoked_at).is_(None)
            )
        ).first()
    found = (row[0], row[1]) if row else None
    with _cache_lock:
        _cache[digest] = (time.monotonic() + ttl, found)
    return found


def forget_cache() -> None:
    """Drop cached key look-ups (tests, revocation)."""
    with _cache_lock:
        _cache.clear()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
