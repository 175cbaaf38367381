"""The journey definition format: YAML in, a validated, frozen :class:`JourneySpec` out.

Every problem is reported as ``FILE:LINE: reason``, all of them at once, so a
marketer fixes a file in one pass. See ``docs/journeys.md`` for the format.

This module is the way in: :func:`load_file`, :func:`load_text`, :func:`from_stored`.
The definition types are in :mod:`automation.journeys.definition`, the reading in
:mod:`automation.journeys.reader` (values in :mod:`automation.journeys.values`) and the
whole-journey checks in :mod:`automation.journeys.checks`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automation.errors import ValidationError
from automation.journeys import yamlmap
from automation.journeys.checks import check_graph, check_products, check_templates
from automation.journeys.definition import JourneySpec
from automation.journeys.reader import read_journey
from automation.journeys.values import Problems


class SpecError(ValidationError):
    """A journey file was refused; ``problems`` are ``FILE:LINE: reason`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_file(path: Path, *, check_files: bool = True) -> JourneySpec:
    """Read and validate a journey file; raises :class:`SpecError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([f"{path}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise SpecError([f"{path}:1: not UTF-8 ({exc.reason})"]) from None
    return load_text(text, str(path), check_files=check_files)


def load_text(text: str, filename: str = "<journey>", *, check_files: bool = True) -> JourneySpec:
    """Validate YAML text; ``filename`` prefixes the problems."""
    try:
        data, lines = yamlmap.load(text)
    except yamlmap.YamlError as exc:
        raise SpecError([f"{filename}:{exc.line}: {exc}"]) from None
    problems = Problems(filename, lines)
    spec = read_journey(data, problems)
    if spec is not None:
        problems.add(check_graph(spec))
        if check_files:
            problems.add(check_templates(spec))
            problems.add(check_products(spec))
    if problems.found or spec is None:
        raise SpecError(problems.found or [f"{filename}:1: empty journey"])
    return spec


def from_stored(raw: dict[str, Any]) -> JourneySpec:
    """A published version's spec, from the data stored with it."""
    problems = Problems("<stored>", {})
    spec = read_journey(raw, problems)
    if spec is None or problems.found:
        raise SpecError(problems.found or ["<stored>: empty journey"])
    return spec
