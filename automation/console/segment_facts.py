"""The marketing-ops segment pages' domain side: every segment with its size, and one
segment's definition and membership history (``segment_changes``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pendulum
import yaml
from sqlalchemy import func
from sqlmodel import col, select

from automation import clock
from automation.config import get_settings
from automation.db import session_scope
from automation.models import Segment, SegmentChange
from automation.segments import registry
from automation.segments.membership import member_counts

HISTORY_ROWS = 50
WINDOW_DAYS = 30


@dataclass(frozen=True)
class SegmentRow:
    """A segment as the list shows it."""

    segment_id: str
    name: str
    description: str
    members: int
    builtin: bool
    refreshed_at: datetime | None
    definition: dict[str, Any]

    @property
    def definition_yaml(self) -> str:
        """The condition as the segment file spells it."""
        return yaml.safe_dump(self.definition, allow_unicode=True, sort_keys=False).strip()


@dataclass(frozen=True)
class Change:
    customer_id: str
    entered: bool
    at: datetime
    cause: str


@dataclass(frozen=True)
class History:
    """Recent entries and exits, and the totals over the last :data:`WINDOW_DAYS`."""

    changes: list[Change]
    entered: int
    exited: int
    days: list[tuple[str, int, int]]  # (day, entered, exited), newest first


def local_time(value: datetime | None) -> str:
    """``2026-05-01 14:03`` in the business time zone; ``–`` for never."""
    if value is None:
        return "–"
    return pendulum.instance(value).in_tz(get_settings().timezone).format("YYYY-MM-DD HH:mm")


def segment_rows() -> list[SegmentRow]:
    """Every published segment with its member count, in id order."""
    counts = member_counts()  # before the session: SQLite has one writer
    with session_scope() as session:
        return [_row(row, counts.get(row.segment_id, 0)) for row, _ in registry.segments(session)]


def segment_detail(segment_id: str) -> tuple[SegmentRow, History]:
    """One segment and its history; raises NotFound for an unknown id."""
    members = member_counts().get(segment_id, 0)
    since = clock.now() - timedelta(days=WINDOW_DAYS)
    with session_scope() as session:
        row = _row(registry.get(session, segment_id), members)
        recent = session.exec(
            select(SegmentChange)
            .where(SegmentChange.segment_id == segment_id)
            .order_by(col(SegmentChange.id).desc())
            .limit(HISTORY_ROWS)
        ).all()
        changes = [Change(c.customer_id, c.entered, c.at, c.cause) for c in recent]
        day: Any = func.date(SegmentChange.at)
        if session.get_bind().dialect.name == "postgresql":
            # Days as the business sees them, not UTC's.
            day = func.date(func.timezone(get_settings().timezone, SegmentChange.at))
        per_day: dict[str, list[int]] = {}
        for when, entered, n in session.exec(
            select(day, SegmentChange.entered, func.count())
            .where(SegmentChange.segment_id == segment_id, col(SegmentChange.at) >= since)
            .group_by(day, col(SegmentChange.entered))
        ):
            per_day.setdefault(str(when), [0, 0])[0 if entered else 1] += int(n)
    days = sorted(((d, e, x) for d, (e, x) in per_day.items()), reverse=True)
    return row, History(changes, sum(e for _, e, _ in days), sum(x for _, _, x in days), days)


def _row(row: Segment, members: int) -> SegmentRow:
    return SegmentRow(
        row.segment_id,
        row.name,
        row.description,
        members,
        row.builtin,
        row.refreshed_at,
        dict(row.definition),
    )
