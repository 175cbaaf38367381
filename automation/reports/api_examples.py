"""OpenAPI response examples of the cross-analysis report routes (``/v1/reports/…``):
one row of each, as ``to_dict()`` gives it, and the 404 of an unknown segment."""

from __future__ import annotations

from typing import Any

_PERIOD = {"from": "2026-11-16", "to": "2026-11-22", "days": 7, "timezone": "Asia/Seoul"}
_UNKNOWN = {"detail": "no segment 'yuong' (known: member, prospect, young-parents)"}

SEGMENTED = ("weblog", "segments", "interest", "products")  # the kinds with ?segment=
_EXAMPLES: dict[str, dict[str, Any]] = {
    "weblog": {
        "period": _PERIOD,
        "group": {"segment": "young-parents"},
        "group_customers": 120,
        "page_views": 2600,
        "visits": 230,
        "visitors": 104,
        "page_views_per_visitor": 25.0,
        "visits_per_week_per_visitor": 2.2,
        "content_preference": [
            {"key": "education-children", "views": 410, "share": 0.41, "name": None},
            {"key": "pension-savings", "views": 220, "share": 0.22, "name": None},
        ],
        "product_preference": [
            {"key": "EDU-CARE", "views": 500, "share": 0.38, "name": "교보 에듀케어"},
            {"key": "CHILD-CI", "views": 310, "share": 0.24, "name": "어린이 CI"},
        ],
    },
    "segments": {
        "period": _PERIOD,
        "members_as_of": "2026-11-22T15:00:00+00:00",
        "segment": None,
        "rows": [
            {
                "segment": "young-parents",
                "segment_name": "자녀가 있는 28–40세 회원",
                "age_band": "30s",
                "gender": "F",
                "members": 60,
                "visitors": 52,
                "page_views": 1300,
                "visits": 114,
                "page_views_per_visitor": 25.0,
                "visits_per_week_per_visitor": 2.19,
                "top_content": [{"key": "education-children", "views": 210}],
                "top_category": [{"key": "insurance", "views": 900}],
                "top_product": [{"key": "EDU-CARE", "name": "교보 에듀케어", "views": 260}],
            }
        ],
    },
    "interest": {
        "period": _PERIOD,
        "reference": "2026-11-15T15:00:00+00:00",
        "interest_from": "2026-10-16T15:00:00+00:00",
        "days": 30,
        "observed_until": "2026-12-15T15:00:00+00:00",
        "complete": True,
        "segment": None,
        "levels": {
            "page_views": {"low": 1, "medium": 5, "high": 15},
            "visits": {"low": 1, "medium": 2, "high": 4},
        },
        "rows": [
            {
                "segment": "member",
                "segment_name": "회원 (member, no policy)",
                "interest": "high",
                "customers": 40,
                "converted": 6,
                "first_policy": 6,
                "repeat": 0,
                "rate": 0.15,
            }
        ],
    },
    "products": {
        "period": _PERIOD,
        "segment": None,
        "interested_views": 3,
        "never_bought": ["CHILD-CI"],
        "rows": [
            {
                "product": "CHILD-CI",
                "name": "어린이 CI",
                "category": "insurance",
                "views": 310,
                "viewers": 120,
                "interested": 30,
                "purchases": 0,
                "buyers": 0,
                "viewed_then_bought": 0,
                "interested_not_bought": 30,
                "view_to_purchase": 0.0,
                "never_bought": True,
            }
        ],
    },
    "service": {
        "period": _PERIOD,
        "rows": [
            {
                "category": "claim",
                "opened": 12,
                "closed": 10,
                "open_now": 2,
                "median_hours": 3.5,
                "p90_hours": 20.1,
                "resolved": 8,
                "escalated": 1,
                "callback": 1,
            }
        ],
    },
}


def examples(kind: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of the ``kind`` route: its 200 and the unknown segment's 404."""
    found = {
        200: {
            "description": f"the {kind} report (json; html and csv with ?format=)",
            "content": {"application/json": {"example": _EXAMPLES[kind]}},
        },
        404: {
            "description": "?segment= names no segment",
            "content": {"application/json": {"example": _UNKNOWN}},
        },
    }
    if kind not in SEGMENTED:
        del found[404]
    return found
