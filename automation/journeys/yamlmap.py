"""YAML with line numbers: the parsed data plus where each part of it came from.

PyYAML's YAML 1.1 reads ``on:``, ``yes`` and ``off`` as booleans; journeys use
``on:`` as a key, so only ``true``/``false`` are booleans here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from automation.events.limits import bad_text

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class YamlError(ValueError):
    """The text is not YAML; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse ``text``; return the data and a map from each path to its 1-based line."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        if node is None:
            return None, {}
        lines: dict[Path, int] = {}
        _walk(node, (), lines)
        data = _Loader(text).get_single_data()  # a tag it cannot construct: Marked too
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(f"not valid YAML: {exc.problem}", (mark.line + 1) if mark else 1) from None
    except yaml.reader.ReaderError as exc:
        # A control character (ESC, say) is refused before any parsing: no mark.
        line = text[: max(exc.position, 0)].count("\n") + 1
        raise YamlError(
            f"not valid YAML: character #x{exc.character:04x} is not allowed", line
        ) from None
    return data, lines


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        _storable(node)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _storable(key_node)
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)


def _storable(node: yaml.Node) -> None:
    """Refuse a text no database can store (a NUL, or a lone surrogate that a
    ``"\\ud800"`` escape makes), with its line, before it reaches a JSON column."""
    if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str):
        reason = bad_text(node.value)
        if reason:
            raise YamlError(f"a text {reason}", node.start_mark.line + 1)


def line_of(lines: dict[Path, int], path: Path) -> int:
    """The line of ``path``, or of its nearest ancestor that has one."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return 1
