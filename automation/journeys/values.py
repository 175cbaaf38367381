"""Single values in parsed journey YAML, and the :class:`Problems` they are reported to.

Each reader notes what is wrong with its value and returns something harmless
(``None``, empty, zero) so that reading carries on and finds every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time, timedelta
from typing import Any

from automation.conditions import Condition, ConditionError, compile_condition, parse_duration
from automation.journeys import yamlmap
from automation.journeys.definition import EVENT_PATTERN

Where = tuple[str | int, ...]


class Problems:
    """``FILE:LINE: reason`` lines, each line found from a path into the YAML."""

    def __init__(self, filename: str, lines: dict[yamlmap.Path, int]) -> None:
        self.filename = filename
        self.lines = lines
        self.found: list[str] = []

    def fail(self, where: Where, why: str) -> None:
        self.found.append(f"{self.filename}:{yamlmap.line_of(self.lines, where)}: {why}")

    def add(self, problems: Iterable[tuple[Where, str]]) -> None:
        """Note ``(where, why)`` pairs, such as those of the whole-journey checks."""
        for where, why in problems:
            self.fail(where, why)


def condition(value: Any, where: Where, out: Problems) -> Condition | None:
    try:
        return compile_condition(value)
    except ConditionError as exc:
        out.fail((*where, *exc.path), str(exc))
        return None


def events(value: Any, where: Where, out: Problems) -> tuple[str, ...]:
    """One event type or a list of them; empty if any is not an event type."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        out.fail(where, "name an event type, or a list of them")
        return ()
    for i, name in enumerate(items):
        if not isinstance(name, str) or not EVENT_PATTERN.match(name):
            out.fail(
                (*where, i) if isinstance(value, list) else where, f"'{name}' is not an event type"
            )
            return ()
    return tuple(items)


def duration(value: Any, where: Where, out: Problems) -> timedelta | None:
    if value is None:
        out.fail(where, "a duration is needed, like 3d")
        return None
    try:
        return parse_duration(str(value))
    except ValueError as exc:
        out.fail(where, f"'{value}': {exc}")
        return None


def signed_duration(value: Any, where: Where, out: Problems) -> timedelta:
    """A duration with an optional sign, like -20d; zero if it cannot be read."""
    raw = str(value).strip()
    sign = -1 if raw.startswith("-") else 1
    raw = raw.lstrip("+-")
    if raw in ("0", "0d"):
        return timedelta(0)
    wait = duration(raw, where, out)
    return sign * wait if wait else timedelta(0)


def clock_time(value: Any, where: Where, out: Problems) -> time:
    if isinstance(value, int):  # YAML 1.1 reads 10:00 as sexagesimal 600
        return time(value // 60 % 24, value % 60)
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        out.fail(where, f"time '{value}' is not HH:MM")
        return time(10, 0)


def matched(
    data: dict[str, Any],
    key: str,
    where: Where,
    pattern: re.Pattern[str],
    hint: str,
    out: Problems,
) -> str | None:
    """``data[key]`` if it matches ``pattern``; None if absent or not."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        out.fail((*where, key), f"{key} '{value}' must be {hint}")
        return None
    return value


def listed(value: Any, where: Where, out: Problems) -> list[Any]:
    """A list as is, a lone mapping as a list of one, nothing as an empty list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    out.fail(where, "expected a list")
    return []


def unknown_keys(data: dict[str, Any], allowed: set[str], where: Where, out: Problems) -> None:
    for key in data:
        if key not in allowed:
            out.fail(
                (*where, key), f"unknown key '{key}' (expected one of {', '.join(sorted(allowed))})"
            )
