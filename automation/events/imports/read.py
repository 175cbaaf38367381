"""Reading import files: CSV with a header row, or JSON Lines; one record per data line.

A record carries the 1-based physical line it starts on (the CSV header is line 1).
A line that is not UTF-8, not CSV or not a JSON object is a problem for that line
and the rest of the file is still read; the whole file is refused
(:class:`~automation.errors.ValidationError`) only when it cannot be read at all.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automation.errors import ValidationError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json-lines": "jsonl"}
Lines = Iterator[tuple[int, str]]
_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


@dataclass(slots=True)
class Record:
    """One data line: its fields, or the reason it could not be read."""

    line: int
    data: dict[str, Any] | None = None
    problem: str | None = None


def file_format(path: Path) -> str:
    """``csv`` or ``jsonl`` from the file name; refuse a missing file or another type."""
    if not path.exists():
        raise ValidationError(f"{path}: no such file")
    if not path.is_file():
        raise ValidationError(f"{path}: not a file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            f"{path}: unknown file type '{path.suffix or '(none)'}'; "
            "use .csv, .jsonl, .ndjson or .json-lines"
        )
    return fmt


def read_records(
    path: Path, fmt: str, required: tuple[str, ...], advance: Callable[[int], None]
) -> Iterator[Record]:
    """The records of ``path``; ``required`` columns must be in a CSV header."""
    lines = _lines(path, advance)
    if fmt == "csv":
        return _csv_records(path, lines, required)
    return _jsonl_records(path, lines)


def bad_bytes(line: str) -> str | None:
    """Why a line (decoded with ``surrogateescape``) is not text: bytes not UTF-8, or NUL.

    Columns count characters from 1.
    """
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(line[exc.start]) - 0xDC00
        return f"not valid UTF-8 (byte 0x{byte:02x} at column {exc.start + 1})"
    nul = line.find("\x00")
    if nul >= 0:
        return f"holds a NUL byte at column {nul + 1}"
    return None


def _lines(path: Path, advance: Callable[[int], None]) -> Lines:
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            advance(len(raw))
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            yield number, raw.decode("utf-8", "surrogateescape")


class _Feed:
    """Lines for :mod:`csv`, remembering which physical lines the current row took."""

    def __init__(self, lines: Lines) -> None:
        self._lines = lines
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        number, line = next(self._lines)
        self.taken.append((number, line))
        return line

    def take(self) -> list[tuple[int, str]]:
        taken, self.taken = self.taken, []
        return taken


def _csv_records(path: Path, lines: Lines, required: tuple[str, ...]) -> Iterator[Record]:
    feed = _Feed(lines)
    reader = csv.reader(feed, strict=True)
    header = _header(path, feed, reader, required)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            taken = feed.take()
            yield Record(taken[0][0] if taken else reader.line_num, problem=f"not valid CSV: {exc}")
            continue
        taken = feed.take()
        if any(cell.strip() for cell in row):
            yield _csv_record(taken, row, header)


def _header(path: Path, feed: _Feed, reader: Any, required: tuple[str, ...]) -> list[str]:
    try:
        row = next((r for r in reader if any(c.strip() for c in r)), None)
    except csv.Error as exc:
        raise ValidationError(f"{path}: the header is not valid CSV: {exc}") from None
    if row is None:
        raise ValidationError(f"{path} is empty")
    number, line = feed.take()[-1]
    problem = bad_bytes(line)
    if problem:
        raise ValidationError(f"{path}:{number}: header {problem}")
    names = [cell.strip() for cell in row]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        raise ValidationError(f"{path}: the header names {', '.join(twice)} more than once")
    missing = [name for name in required if name not in names]
    if missing:
        raise ValidationError(f"{path}: the header has no {', '.join(missing)} column (required)")
    return names


def _csv_record(taken: list[tuple[int, str]], row: list[str], header: list[str]) -> Record:
    for number, line in taken:
        problem = bad_bytes(line)
        if problem:
            return Record(number, problem=problem)
    first = taken[0][0]
    extra = row[len(header) :]
    if len(row) < len(header) or any(cell.strip() for cell in extra):
        return Record(first, problem=f"has {len(row)} fields but the header has {len(header)}")
    return Record(first, {name: cell for name, cell in zip(header, row, strict=False) if name})


def _jsonl_records(path: Path, lines: Lines) -> Iterator[Record]:
    seen = False
    for number, line in lines:
        if line.strip():
            seen = True
            yield _jsonl_record(number, line)
    if not seen:
        raise ValidationError(f"{path} is empty")


def _jsonl_record(number: int, line: str) -> Record:
    problem = bad_bytes(line)
    if problem:
        return Record(number, problem=problem)
    try:
        data = json.loads(line, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        return Record(number, problem=f"not valid JSON: {exc.msg} (column {exc.colno})")
    except ValueError as exc:
        return Record(number, problem=f"not valid JSON: {exc}")
    if not isinstance(data, dict):
        return Record(number, problem=f"expected a JSON object, not {_JSON_KINDS[type(data)]}")
    return Record(number, data)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
