"""Segments (admin key, or a console session): every segment with its size, one
segment's definition and membership history, and a refresh in SQL.

The figures are ``console/segment_facts.py``'s (the console's segment pages); a refresh
is ``segments/membership.py``'s, as ``automation segments refresh`` runs it: entries and
exits are recorded and become events journeys can use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from automation import clock
from automation.api.deps import NO_NUL
from automation.api.people import Reader, Writer
from automation.console.segment_facts import WINDOW_DAYS, SegmentRow, segment_detail, segment_rows
from automation.errors import NotFound
from automation.segments.membership import refresh as refresh_segment

router = APIRouter(prefix="/v1/segments", tags=["segments"])

SegmentId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NO_NUL, description="the segment's id")
]
ROW_EXAMPLE = {
    "segment": "vip",
    "name": "VIP 고객",
    "description": "",
    "members": 1204,
    "builtin": True,
    "refreshed_at": "2026-05-01T18:00:00+00:00",
    "definition": {"customer.value_tier": "vip"},
}


def _example(description: str, example: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


@router.get(
    "",
    summary="Every segment",
    responses={200: _example("segments by id, with their sizes", {"segments": [ROW_EXAMPLE]})},
)
def list_segments(_who: Reader) -> dict[str, Any]:
    """Each published segment: its definition, member count and last refresh."""
    return {"segments": [_row_json(row) for row in segment_rows()]}


@router.get(
    "/{segment_id}",
    summary="One segment with its history",
    responses={
        200: _example(
            f"the segment, its latest changes, and entries and exits of {WINDOW_DAYS} days",
            ROW_EXAMPLE
            | {
                "history": {
                    "changes": [
                        {
                            "customer_id": "C-1001",
                            "change": "entered",
                            "at": "2026-05-01T05:03:00+00:00",
                            "cause": "event:site-77",
                        }
                    ],
                    "days": WINDOW_DAYS,
                    "entered": 41,
                    "exited": 7,
                    "per_day": [{"day": "2026-05-01", "entered": 5, "exited": 1}],
                }
            },
        ),
        404: {"description": "unknown segment"},
    },
)
def show(segment_id: SegmentId, _who: Reader) -> dict[str, Any]:
    """The segment, its last 50 entries and exits, and the totals per day."""
    try:
        row, history = segment_detail(segment_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return _row_json(row) | {
        "history": {
            "changes": [
                {
                    "customer_id": c.customer_id,
                    "change": "entered" if c.entered else "exited",
                    "at": _iso(c.at),
                    "cause": c.cause,
                }
                for c in history.changes
            ],
            "days": WINDOW_DAYS,
            "entered": history.entered,
            "exited": history.exited,
            "per_day": [{"day": d, "entered": e, "exited": x} for d, e, x in history.days],
        }
    }


@router.post(
    "/{segment_id}/refresh",
    summary="Refresh a segment",
    responses={
        200: _example(
            "what the refresh changed",
            {"segment": "vip", "members": 1210, "entered": 9, "exited": 3, "events": 12},
        ),
        404: {"description": "unknown segment"},
    },
)
def refresh(segment_id: SegmentId, _who: Writer) -> dict[str, Any]:
    """Recompute the segment over all customers in SQL; entries and exits are recorded
    and become events (not on a segment's first fill)."""
    try:
        done = refresh_segment(segment_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return {
        "segment": done.segment_id,
        "members": done.members,
        "entered": done.entered,
        "exited": done.exited,
        "events": done.events,
    }


def _row_json(row: SegmentRow) -> dict[str, Any]:
    return {
        "segment": row.segment_id,
        "name": row.name,
        "description": row.description,
        "members": row.members,
        "builtin": row.builtin,
        "refreshed_at": _iso(row.refreshed_at),
        "definition": row.definition,
    }


def _iso(value: datetime | None) -> str | None:
    return clock.to_utc(value).isoformat() if value is not None else None
