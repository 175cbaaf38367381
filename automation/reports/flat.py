"""Reports as flat rows: what a terminal table, a CSV file and an HTML table show.

A report's ``to_dict()`` may nest (top lists, periods); here each row is one level of
plain values: a list of keys with counts becomes ``"EDU-CARE 교보 에듀케어 (3); …"``.
The web log, which is figures rather than rows, becomes ``figure, value`` rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

# Report kind → the key of its rows in ``to_dict()``.
ROWS = {
    "funnel": "rungs",
    "campaigns": "rows",
    "segments": "rows",
    "interest": "rows",
    "products": "rows",
    "service": "rows",
}
CSV_KINDS = (*ROWS, "weblog")


def cell(value: Any) -> Any:
    """A value as one cell: lists joined by "; ", a ranked key with its count."""
    if isinstance(value, list):
        return "; ".join(str(cell(v)) for v in value)
    if isinstance(value, Mapping):
        label = " ".join(str(value[k]) for k in ("key", "name") if value.get(k) is not None)
        count = value.get("views")
        if label:
            return f"{label} ({count})" if count is not None else label
        return "; ".join(f"{k}={cell(v)}" for k, v in value.items())
    return value


def flat_rows(kind: str, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's rows, each value one cell.

    Raises:
        ValueError: the report has no row form (journeys: use json).
    """
    if kind == "weblog":
        return [
            {"figure": k, "value": cell(v)}
            for k, v in data.items()
            if k not in ("period", "main_paths", "arrivals")
        ]
    key = ROWS.get(kind)
    if key is None:
        raise ValueError(f"report '{kind}' has no rows for csv: use {', '.join(CSV_KINDS)}")
    return [{k: cell(v) for k, v in row.items()} for row in data.get(key) or []]


def csv_text(kind: str, data: Mapping[str, Any]) -> str:
    """The report's rows as CSV (a header row, then one line a row; UTF-8 text)."""
    rows = flat_rows(kind, data)
    out = io.StringIO()
    headers = list(rows[0]) if rows else []
    writer = csv.DictWriter(out, fieldnames=headers, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
