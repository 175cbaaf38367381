"""The one clock every module asks for "now".

``AUTOMATION_NOW`` freezes it at start-up; tests, the demo and ``tick --at`` freeze
or move it. A worker thread can follow another process's replayed clock for the length
of one actor message (:func:`following`, see ``replay_clock.py``). Times are pendulum
``DateTime`` in UTC; reason in the business zone with :func:`local`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pendulum

_lock = threading.Lock()
_frozen: pendulum.DateTime | None = None
_offset = timedelta(0)
_initialised = False
_thread = threading.local()  # .at: the replayed time this thread follows, if any


def _ensure_initialised() -> None:
    global _initialised, _frozen
    if _initialised:
        return
    with _lock:
        if not _initialised:
            from automation.config import get_settings

            start = get_settings().now
            if start is not None:
                _frozen = to_utc(start)
            _initialised = True


def now() -> pendulum.DateTime:
    """The current time, UTC, aware; frozen or moved if someone said so."""
    _ensure_initialised()
    frozen = _frozen
    if frozen is not None:
        return frozen
    followed = getattr(_thread, "at", None)
    if followed is not None:
        return followed
    current = pendulum.now("UTC")
    return current + _offset if _offset else current


def replayed() -> pendulum.DateTime | None:
    """Now, if this process's clock is frozen or moved (a replay, a test, ``tick --at``,
    or a thread following one); None on real time."""
    _ensure_initialised()
    if _frozen is None and not _offset and getattr(_thread, "at", None) is None:
        return None
    return now()


def follow(at: datetime | None) -> bool:
    """Make this thread's clock read ``at`` until :func:`follow` (None); only a process on
    real time follows (a frozen or moved clock is the process's own replay). True if it
    now follows."""
    _ensure_initialised()
    if at is None or _frozen is not None or _offset:
        _thread.at = None
        return False
    _thread.at = to_utc(at)
    return True


def local(tz: str | None = None) -> pendulum.DateTime:
    """Now in the business time zone (or ``tz``)."""
    from automation.config import get_settings

    return now().in_tz(tz or get_settings().timezone)


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (aware)."""
    global _frozen, _initialised
    with _lock:
        _frozen = to_utc(at)
        _initialised = True


def advance(delta: timedelta) -> pendulum.DateTime:
    """Move the clock forward; a frozen clock stays frozen at the new time."""
    global _frozen, _offset
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset += delta
    return now()


def unfreeze() -> None:
    """Back to real time (forgets ``AUTOMATION_NOW`` too)."""
    global _frozen, _offset, _initialised
    with _lock:
        _frozen = None
        _offset = timedelta(0)
        _initialised = True


@contextmanager
def frozen_at(at: datetime) -> Iterator[pendulum.DateTime]:
    """Freeze the clock for a ``with`` block, then restore what was before."""
    global _frozen, _offset
    _ensure_initialised()
    saved = (_frozen, _offset)
    freeze(at)
    try:
        yield now()
    finally:
        with _lock:
            _frozen, _offset = saved


def plain_utc(value: datetime) -> datetime:
    """An aware datetime as a plain ``datetime`` in UTC, for arithmetic and binds on hot
    paths (pendulum's conversions and arithmetic cost several times the standard
    library's, and psycopg binds a pendulum time through pendulum's arithmetic); a naive
    one is a bug."""
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # plain and in UTC already: most times read back from the database
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"naive datetime {value!r} refused: store aware times only")
    utc = value.astimezone(UTC) if offset else value  # most values are UTC already
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC
    )


def to_utc(value: datetime) -> pendulum.DateTime:
    """An aware datetime as a pendulum UTC DateTime; a naive one is a bug."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: every time needs a zone")
    return pendulum.instance(value).in_tz("UTC")
