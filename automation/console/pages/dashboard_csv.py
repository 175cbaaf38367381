"""A dashboard figure as a CSV download: a header row and rows, UTF-8 with a BOM."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

# A cell a spreadsheet would run as a formula (CSV injection): journey and template
# names are typed by people, so such text is prefixed with an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Sheet:
    """A figure as a table: what its CSV download holds."""

    header: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def csv_bytes(sheet: Sheet) -> bytes:
    """``sheet`` as UTF-8 CSV with a BOM, so Excel reads the Korean as Korean."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(sheet.header)
    writer.writerows([_cell(v) for v in row] for row in sheet.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
