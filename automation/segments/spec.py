"""Segment definitions from YAML, validated with every problem as ``FILE:LINE: reason``.

A file holds one segment or a list under ``segments:``::

    segments:
      - segment: young-parents
        name: 자녀가 있는 30대 회원
        description: The seed's table 1 group.
        when:
          customer.has_children: true
          customer.age: {between: [28, 40]}
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automation.conditions import Condition, ConditionError, compile_condition
from automation.errors import ValidationError
from automation.journeys import yamlmap

LIBRARY = Path(__file__).parent / "library"
_ID = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_KEYS = ("segment", "name", "description", "when")


class SegmentSpecError(ValidationError):
    """Every problem of a segment file, one ``FILE:LINE: reason`` per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SegmentSpec:
    """One validated segment."""

    segment_id: str
    name: str
    description: str
    when: dict[str, Any]
    condition: Condition

    @property
    def checksum(self) -> str:
        body = json.dumps([self.name, self.description, self.when], sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()


def builtin_files() -> list[Path]:
    """The segments the product ships."""
    return sorted(LIBRARY.glob("*.yaml"))


def load_file(path: Path) -> list[SegmentSpec]:
    """Read and validate a segment file; raises :class:`SegmentSpecError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SegmentSpecError([f"{path}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise SegmentSpecError([f"{path}:1: not UTF-8 ({exc.reason})"]) from None
    return load_text(text, str(path))


def load_text(text: str, filename: str = "<segments>") -> list[SegmentSpec]:
    """Validate YAML text holding one segment or ``segments: [...]``."""
    try:
        data, lines = yamlmap.load(text)
    except yamlmap.YamlError as exc:
        raise SegmentSpecError([f"{filename}:{exc.line}: {exc}"]) from None
    problems: list[str] = []

    def fail(where: yamlmap.Path, why: str) -> None:
        problems.append(f"{filename}:{yamlmap.line_of(lines, where)}: {why}")

    if isinstance(data, dict) and "segments" in data:
        items = data["segments"]
        base: yamlmap.Path = ("segments",)
        if not isinstance(items, list):
            fail(base, "segments: a list of segments")
            items = []
        entries = [((*base, i), item) for i, item in enumerate(items)]
    else:
        entries = [((), data)]
    specs: list[SegmentSpec] = []
    seen: set[str] = set()
    for at, item in entries:
        spec = _one(item, at, fail)
        if spec is None:
            continue
        if spec.segment_id in seen:
            fail((*at, "segment"), f"segment '{spec.segment_id}' is defined twice")
        seen.add(spec.segment_id)
        specs.append(spec)
    if problems or not specs:
        raise SegmentSpecError(problems or [f"{filename}:1: no segment in the file"])
    return specs


def _one(item: Any, at: yamlmap.Path, fail: Any) -> SegmentSpec | None:
    if not isinstance(item, dict):
        fail(at, "a segment is a mapping with segment, name and when")
        return None
    for key in item:
        if key not in _KEYS:
            fail((*at, key), f"unknown key '{key}': a segment has {', '.join(_KEYS)}")
    segment_id = item.get("segment")
    if not isinstance(segment_id, str) or not _ID.match(segment_id):
        fail((*at, "segment"), "segment: an id of lowercase letters, digits, - and _")
        return None
    when = item.get("when")
    if not isinstance(when, dict) or not when:
        fail((*at, "when"), "when: the condition that selects the segment's customers")
        return None
    try:
        condition = compile_condition(when, allow_event=False)
    except ConditionError as exc:
        fail((*at, "when", *exc.path), exc.reason)
        return None
    if f"segments:{segment_id}" in condition.fields:
        fail((*at, "when"), f"segment '{segment_id}' cannot be defined by its own membership")
        return None
    return SegmentSpec(
        segment_id,
        str(item.get("name") or segment_id),
        str(item.get("description") or ""),
        when,
        condition,
    )
