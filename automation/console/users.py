"""The console's people: create, list, disable, and check a password.

Passwords are hashed with argon2id (``argon2-cffi``, its default parameters), never
stored or logged in clear. Checking an unknown name costs what checking a known one
does, so timing does not tell which names exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.errors import NotFound, ValidationError
from automation.models import Role, User

MIN_PASSWORD = 10  # characters; NIST SP 800-63B asks for at least 8
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password anyone has")


@dataclass(frozen=True)
class Person:
    """A signed-in person as the pages see them."""

    id: int
    username: str
    role: Role


def create_user(username: str, role: str, password: str) -> Person:
    """Add a person who may sign in.

    Raises:
        ValidationError: a bad name (lower-case letters, digits, ``.``, ``_``, ``-``;
            2 to 64), an unknown role, a short password, or a name already taken.
    """
    if not _NAME.fullmatch(username):
        raise ValidationError(
            f"{username!r} is not a user name: 2-64 lower-case letters, digits, '.', '_', '-'"
        )
    if role not in {r.value for r in Role}:
        raise ValidationError(f"role must be one of {', '.join(r.value for r in Role)}")
    check_password(password)
    with session_scope() as session:
        if session.exec(select(User).where(User.username == username)).first():
            raise ValidationError(f"user {username!r} exists")
        user = User(username=username, role=role, password_hash=_hasher.hash(password))
        session.add(user)
        session.flush()
        assert user.id is not None
        return Person(user.id, user.username, Role(user.role))


def check_password(password: str) -> None:
    """Refuse a password too short to keep anyone out, or one with a NUL."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"a password has at least {MIN_PASSWORD} characters")
    if "\x00" in password:
        raise ValidationError("a password must not contain a NUL character")


def list_users() -> list[User]:
    """Everyone, by name, disabled ones too."""
    with session_scope() as session:
        users = list(session.exec(select(User).order_by(col(User.username))))
        for user in users:
            session.expunge(user)
        return users


def disable_user(username: str) -> None:
    """Stop ``username`` signing in; their open sessions end at their next request.

    Raises:
        NotFound: no such user.
    """
    with session_scope() as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"no user {username!r}")
        if user.active:
            user.active = False
            user.disabled_at = clock.now()


def authenticate(username: str, password: str) -> Person | None:
    """The active person with this name and password, or None (nothing says which was
    wrong). Records the sign-in time and upgrades an outdated hash."""
    with session_scope() as session:
        user = session.exec(select(User).where(User.username == username)).first()
        stored = user.password_hash if user is not None and user.active else _DUMMY
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = clock.now()
        assert user.id is not None
        return Person(user.id, user.username, Role(user.role))


def active_person(user_id: int) -> Person | None:
    """The person a session names, if they may still sign in."""
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            return None
        return Person(user_id, user.username, Role(user.role))
