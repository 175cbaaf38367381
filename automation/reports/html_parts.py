"""The pieces of the report pages: escaped values, number formats and tables.

Every value from the data goes through ``esc``; only markup built here is ``Raw``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any


class Raw(str):
    """Markup built here: inserted as is, never escaped again."""

    __slots__ = ()


def esc(value: Any) -> str:
    """A value as escaped text (``Raw`` markup as is); None as a dash."""
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "예" if value else "아니오"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return escape(str(value), quote=True)


def pct(rate: Any) -> str:
    """A ratio as a percentage (one decimal); None as a dash."""
    return "–" if not isinstance(rate, int | float) else f"{rate * 100:.1f}%"


def count_share(count: Any, share: Any) -> str:
    """A count and its share, as "1,234 (56.7%)"."""
    return f"{esc(count)} ({pct(share)})"


def points(diff: Any) -> str:
    """A difference of two rates in percentage points, signed."""
    return "–" if not isinstance(diff, int | float) else f"{diff * 100:+.1f}%p"


def as_json(value: Any) -> str:
    """A value as compact JSON, Korean kept readable."""
    return json.dumps(value, ensure_ascii=False, default=str)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Raw:
    """A table, numbers right-aligned; a note instead when there are no rows."""
    body = [
        "<tr>"
        + "".join(
            f'<td class="n">{esc(c)}</td>' if _numeric(c) else f"<td>{esc(c)}</td>" for c in row
        )
        + "</tr>"
        for row in rows
    ]
    if not body:
        return Raw('<p class="empty">자료가 없습니다.</p>')
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return Raw(f"<table>\n<tr>{head}</tr>\n" + "\n".join(body) + "\n</table>")


def _numeric(cell: Any) -> bool:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return True
    return isinstance(cell, str) and (cell.endswith(("%", "%p")) or cell == "–")
