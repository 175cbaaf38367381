"""ConditionError, and the wording its reasons use for values and near-miss words."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from automation.errors import ValidationError

Path = tuple[str | int, ...]


class ConditionError(ValidationError):
    """A condition was refused; ``path`` says where inside the mapping, ``str()`` why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def describe(value: object) -> str:
    """``value`` as a reason names it: null, true/false, a mapping, a list, 'text', 3."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value) if isinstance(value, str) else f"{value}"


def suggest(word: str, choices: Sequence[str]) -> str:
    """``"did you mean 'x'? "`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean {close[0]!r}? " if close else ""
