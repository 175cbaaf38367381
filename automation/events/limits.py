"""What any stored value must be: text a database can hold, times in range, JSON that
nests a bounded depth. Checked per event (and per imported row), so one bad event never
costs its batch.

PostgreSQL refuses NUL in ``text`` and ``jsonb`` and cannot encode a lone surrogate
(JSON Lines read by the standard library can carry one); JSON nested a thousand deep
makes the encoders raise ``RecursionError``; a float beyond the double range (JSON
``1e400`` read by the standard library) is ``Infinity``, which ``jsonb`` refuses. Each
of these used to fail the whole batch's transaction.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

MAX_DEPTH = 32  # levels of objects and arrays, ``properties`` itself the first
MAX_PROBLEMS = 5  # reasons given for one event's properties; the rest are alike
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)  # earlier times overflow the pipeline's arithmetic

BAD_CHARS = re.compile("[\x00\ud800-\udfff]")  # what PostgreSQL text cannot hold
# Control characters are shown escaped in reasons: a sender sees "custom_evt\n", not a break.
_VISIBLE = {c: f"\\x{c:02x}" for c in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t"}


def bad_text(text: str) -> str | None:
    """Why ``text`` cannot be stored (a NUL character, a lone surrogate), or None."""
    if text.isascii():  # O(1) in CPython: only the NUL search remains
        return "holds a NUL character" if "\x00" in text else None
    found = BAD_CHARS.search(text)
    if found is None:
        return None
    return "holds a NUL character" if found.group() == "\x00" else "holds a lone surrogate"


def shown(value: Any, limit: int = 40) -> str:
    """``value`` as a reason quotes it: cut to ``limit``, control characters and lone
    surrogates escaped (a reason must itself be valid JSON text)."""
    try:
        text = value if isinstance(value, str) else str(value)
    except ValueError:  # an integer past Python's 4,300-digit conversion limit
        text = "a number too long to show"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escaped(text)


def escaped(text: str) -> str:
    """``text`` with control characters and lone surrogates as escapes."""
    text = text.translate(_VISIBLE)
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def json_kind(value: Any) -> str:
    """The JSON name of ``value``'s type, as a reason says it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def instant(name: str, value: Any) -> datetime | str:
    """An ISO 8601 time with an offset, in UTC; or why ``value`` is not one."""
    if not isinstance(value, str):
        return f"{name} must be an ISO 8601 string, not {json_kind(value)}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"{name} '{shown(value)}' is not an ISO 8601 time"
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return f"{name} '{shown(value)}' has no time zone; add an offset such as +09:00 or Z"
    if parsed < EARLIEST:
        return f"{name} '{shown(value)}' is before 1900"
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # late on 9999-12-31 with a negative offset
        return f"{name} '{shown(value)}' is beyond the year 9999"


def check_properties(
    properties: dict[str, Any], errors: list[str], name: str = "properties"
) -> None:
    """Add to ``errors`` why ``properties`` (a JSON column's object, called ``name`` in
    the reasons) cannot be stored: bad text in a key or a string, a number that is not
    finite (or past a double), nesting deeper than :data:`MAX_DEPTH`.

    The common shape (a few scalar properties) is checked flat, by exact type; anything
    else (an object or array, a suspect value) is walked, never deeper than
    :data:`MAX_DEPTH`, so no input recurses further.
    """
    for key, value in properties.items():
        kind = type(value)
        if type(key) is str and ("\x00" in key if key.isascii() else BAD_CHARS.search(key)):
            break
        if kind is str:
            if "\x00" in value if value.isascii() else BAD_CHARS.search(value):
                break
        elif kind is float:
            if value - value != 0:  # inf or nan
                break
        elif kind is int:
            if value.bit_length() > 1023:  # past a double's range
                break
        elif value is not None and kind is not bool:
            break  # an object, an array, or an unusual type
    else:
        return
    problems: list[str] = []
    _walk(properties, name, 1, problems)
    errors.extend(problems)


def _walk(container: dict[str, Any] | list[Any], path: str, depth: int, out: list[str]) -> None:
    if depth > MAX_DEPTH:
        out.append(f"{shown(path, 80)} nests deeper than {MAX_DEPTH} levels")
        return
    is_object = isinstance(container, dict)
    items = container.items() if is_object else enumerate(container)  # type: ignore[union-attr]
    for key, value in items:
        if len(out) >= MAX_PROBLEMS:
            return
        if is_object and isinstance(key, str) and (why := bad_text(key)):
            out.append(f"{shown(path, 80)}: the key '{shown(key)}' {why}")
        if isinstance(value, str):
            if why := bad_text(value):
                out.append(f"{shown(_at(path, key, is_object), 80)} {why}")
        elif isinstance(value, dict | list):
            _walk(value, _at(path, key, is_object), depth + 1, out)
        elif why := _bad_scalar(value):
            out.append(f"{shown(_at(path, key, is_object), 80)} {why}")


def _bad_scalar(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    # An integer past a double's range is stored in jsonb, but orjson cannot read it
    # back (every later load of the row would fail); a float is that only as inf.
    if isinstance(value, float):
        return "is not a finite number" if value - value != 0 else None
    if isinstance(value, int):
        return (
            "is too large a number (past a double's range)" if value.bit_length() > 1023 else None
        )
    return f"is not a JSON value (a {type(value).__name__})"  # from a caller in Python


def _at(path: str, key: Any, is_object: bool) -> str:
    return f"{path}.{key}" if is_object else f"{path}[{key}]"
