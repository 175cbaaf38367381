"""API keys: created once, shown once, stored as a SHA-256 hash, checked by scope,
listed and revoked by name or id.

Look-ups are cached per process (``API_KEY_CACHE_SECONDS``, 30 s by default), so a
revoked key is refused by every process within that time, and by the revoking process
at once. The caches are bounded LRUs: known keys, and apart from them unknown ones, so
a flood of one wrong key costs no query each and a flood of many costs bounded memory.
Wrong keys are also limited per client address (``AUTH_FAILURES_PER_MINUTE``): past
the limit an address is answered :class:`TooManyAttempts` without a look-up.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from automation import clock
from automation.api.keycache import TtlLru
from automation.config import get_settings
from automation.db import session_scope
from automation.errors import AuthError, NotFound, ValidationError
from automation.models import ApiKey, Scope
from automation.throttle import FailureBuckets

KNOWN_KEYS = 1024  # valid keys kept; a deployment has a handful
UNKNOWN_KEYS = 256  # wrong keys remembered as wrong
# A key we made is "ak_<scope>_" and 32 characters of base64url: anything else cannot be
# one, and is refused without a look-up.
KEY_PREFIX, KEY_MAX_LENGTH = "ak_", 64

_known: TtlLru[tuple[str, str]] = TtlLru(KNOWN_KEYS)  # digest → (scope, name)
_unknown: TtlLru[bool] = TtlLru(UNKNOWN_KEYS)
_failures = FailureBuckets(30)


class WrongScope(AuthError):
    """A valid key without the scope the route needs (403)."""


class TooManyAttempts(AuthError):
    """Too many wrong keys from one address (429); ``retry_after`` in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong API keys from this address; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class KeyView:
    """What may be shown of a key: never the key, nor its hash."""

    id: int
    name: str
    scope: str
    created_at: datetime
    revoked_at: datetime | None


def create_key(scope: str, name: str | None = None) -> str:
    """Store a new key's hash and return the key (the only time it is seen)."""
    try:
        scope_ = Scope(scope)
    except ValueError:
        known = ", ".join(s.value for s in Scope)
        raise ValidationError(f"scope '{scope}' is not one of {known}") from None
    key = f"{KEY_PREFIX}{scope_.value}_{secrets.token_urlsafe(24)}"
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


def check_key(key: str | None, *scopes: Scope, client: str | None = None) -> str:
    """The scope of ``key`` if it is valid for one of ``scopes`` (admin passes everywhere).

    ``client`` is the caller's address, whose wrong keys are counted.

    Raises:
        TooManyAttempts: ``client`` presented too many wrong keys lately.
        WrongScope: a valid key without one of ``scopes``.
        AuthError: no key, or an unknown or revoked one.
    """
    if not key:
        raise AuthError("missing X-API-Key header")
    found = _lookup(key, client)
    if found is None:
        raise AuthError("unknown or revoked API key")
    return _scope_for(found, scopes)


def _scope_for(found: tuple[str, str], scopes: tuple[Scope, ...]) -> str:
    scope = found[0]
    if scope != Scope.ADMIN and scope not in scopes:
        raise WrongScope(
            f"this key has the '{scope}' scope; this route needs {' or '.join(scopes)}"
        )
    return scope


def cached_scope(key: str | None, *scopes: Scope) -> str | None:
    """What :func:`check_key` answers when it needs no query: the scope of a key found in
    the cache (the same errors for no key or a wrong scope); None for any other key,
    which :func:`check_key` must look up. Cheap enough for the event loop."""
    if not key:
        raise AuthError("missing X-API-Key header")
    hit, found = _known.get(_hash(key))
    return _scope_for(found, scopes) if hit and found is not None else None


def key_name(key: str | None) -> str:
    """The name a valid key was created with (an agent's identity, say)."""
    found = _lookup(key, None) if key else None
    if found is None:
        raise AuthError("unknown or revoked API key")
    return found[1]


def list_keys() -> list[KeyView]:
    """Every key ever created, oldest first, revoked ones included."""
    with session_scope() as session:
        rows = session.exec(select(ApiKey).order_by(col(ApiKey.id))).all()
        return [_view(row) for row in rows]


def revoke_key(ref: str) -> tuple[KeyView, bool]:
    """Revoke the key with id or name ``ref``; with it, whether it was revoked now (False:
    it already was). A name that several live keys share (a rotation under way) is
    refused: revoke by id.

    Raises:
        NotFound: no key has that id or name.
        ValidationError: the name is ambiguous.
    """
    with session_scope() as session:
        query = select(ApiKey).order_by(col(ApiKey.id))
        if ref.isdigit() and len(ref) < 10:
            query = query.where(ApiKey.id == int(ref))
        else:
            query = query.where(ApiKey.name == ref)
        rows = list(session.exec(query).all())
        if not rows:
            raise NotFound(f"no API key with the id or name {ref!r}: see `automation keys list`")
        live = [row for row in rows if row.revoked_at is None]
        if len(live) > 1:
            ids = ", ".join(str(row.id) for row in live)
            raise ValidationError(
                f"{len(live)} live keys are named {ref!r} (ids {ids}): revoke by id"
            )
        if not live:
            return _view(rows[-1]), False
        live[0].revoked_at = clock.now()
        session.add(live[0])
        view = _view(live[0])
    forget_cache()
    return view, True


def forget_cache() -> None:
    """Drop cached key look-ups and failure counts (tests, revocation)."""
    _known.clear()
    _unknown.clear()
    _failures.clear()


def _lookup(key: str, client: str | None) -> tuple[str, str] | None:
    # Keys are checked on every batch; the cache keeps the database out of the hot path.
    digest = _hash(key)
    hit, found = _known.get(digest)
    if hit:
        return found
    failures = _failures_now()
    if client is not None and (wait := failures.wait(client)):
        raise TooManyAttempts(wait)
    if not key.startswith(KEY_PREFIX) or len(key) > KEY_MAX_LENGTH or _unknown.get(digest)[0]:
        found = None
    else:
        found = _query(digest)
    ttl = get_settings().api_key_cache_seconds
    if found is not None:
        _known.put(digest, found, ttl)
        return found
    if key.startswith(KEY_PREFIX) and len(key) <= KEY_MAX_LENGTH:
        _unknown.put(digest, True, ttl)
    if client is not None:
        failures.spend(client)
    return None


def _query(digest: str) -> tuple[str, str] | None:
    with session_scope() as session:
        row = session.exec(
            select(ApiKey.scope, ApiKey.name).where(
                ApiKey.key_hash == digest, col(ApiKey.revoked_at).is_(None)
            )
        ).first()
    return (row[0], row[1]) if row else None


def _failures_now() -> FailureBuckets:
    """The buckets at the configured rate (a changed setting starts them afresh)."""
    global _failures
    rate = get_settings().auth_failures_per_minute
    if _failures.capacity != rate:
        _failures = FailureBuckets(rate)
    return _failures


def _view(row: ApiKey) -> KeyView:
    assert row.id is not None and row.created_at is not None
    return KeyView(row.id, row.name, row.scope, row.created_at, row.revoked_at)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
