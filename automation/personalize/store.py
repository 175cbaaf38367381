"""Publishing offer rules as versions, and the rules in force (read again at most once
every few seconds, so a published version reaches every process at once without a
query per request)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlmodel import col, select

from automation.db import session_scope
from automation.models import OfferSet
from automation.personalize.rules import OfferRules, builtin_file, load_text

CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class PublishedRules:
    """A version as published."""

    version: int
    changed: bool  # False: the same text as the version in force (nothing published)


def publish_text(text: str, name: str, *, by: str) -> PublishedRules:
    """Validate and publish ``text`` as the next version (the same text again publishes
    nothing). Raises :class:`~automation.personalize.rules.OfferRulesError`."""
    rules = load_text(text, name)
    with session_scope() as session:
        latest = session.exec(select(OfferSet).order_by(col(OfferSet.version).desc())).first()
        if latest is not None and latest.checksum == rules.checksum:
            return PublishedRules(latest.version, False)
        version = (latest.version if latest else 0) + 1
        session.add(
            OfferSet(version=version, source=text, checksum=rules.checksum, published_by=by)
        )
    _cache.forget()
    return PublishedRules(version, True)


def publish_builtin(by: str = "builtin") -> PublishedRules:
    """Publish the shipped rules (``personalize/library/offers.yaml``)."""
    path = builtin_file()
    return publish_text(path.read_text(encoding="utf-8"), str(path.name), by=by)


def versions() -> list[OfferSet]:
    """Every published version, newest first."""
    with session_scope() as session:
        found = list(session.exec(select(OfferSet).order_by(col(OfferSet.version).desc())))
        for row in found:
            session.expunge(row)
        return found


def in_force() -> tuple[int, OfferRules | None]:
    """The version in force and its rules (0 and None before any is published)."""
    return _cache.get()


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked = 0.0
        self._value: tuple[int, OfferRules | None] = (0, None)

    def get(self) -> tuple[int, OfferRules | None]:
        if time.monotonic() - self._checked < CHECK_SECONDS:
            return self._value
        with self._lock:
            if time.monotonic() - self._checked >= CHECK_SECONDS:
                self._value = self._load(self._value)
                self._checked = time.monotonic()
        return self._value

    def forget(self) -> None:
        with self._lock:
            self._checked = 0.0

    @staticmethod
    def _load(known: tuple[int, OfferRules | None]) -> tuple[int, OfferRules | None]:
        with session_scope() as session:
            newest = session.exec(
                select(OfferSet.version, OfferSet.checksum)
                .order_by(col(OfferSet.version).desc())
                .limit(1)
            ).first()
            if newest is None:
                return 0, None
            version, checksum = newest
            rules = known[1]
            if version == known[0] and rules is not None and rules.checksum == checksum:
                return known
            row = session.exec(select(OfferSet).where(OfferSet.version == version)).one()
            return version, load_text(row.source, f"offers v{version}")


_cache = _Cache()


def forget() -> None:
    """Read the rules again at the next request (a test's fresh database)."""
    _cache.forget()
