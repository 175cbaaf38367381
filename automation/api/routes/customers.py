"""Customers (admin key, or a console session): one customer's profile, search, the
event timeline, and consent changes.

The profile is ``reports/customer_facts.py``'s (the customer card with journeys and
recent events). A consent change is an event like everything else
(``consent_changed``, with who made it and how the customer gave it), applied by the
profile step and processed before answering, so the answer shows the new state.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from automation.api.deps import NO_NUL
from automation.api.people import Reader, Writer
from automation.customers.consent import record_consents
from automation.errors import NotFound, ValidationError
from automation.models import CONSENT_KINDS
from automation.reports.card import customer_card, search_customers
from automation.reports.customer_facts import (
    MAX_PAGE,
    BadCursor,
    customer_exists,
    customer_facts,
    events_page,
)
from automation.worker.process import process_events

router = APIRouter(prefix="/v1/customers", tags=["customers"])

CustomerId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NO_NUL, description="the customer number")
]
_CONSENT = {"kind": "email", "label": "이메일 e-mail", "granted": True}
_CONSENT |= {"at": "2026-04-02T01:00:00+00:00", "source": "import"}
PROFILE_EXAMPLE: dict[str, Any] = {
    "customer_id": "C-1001",
    "profile": {
        "name": "김민지",
        "email": "minji.kim@example.com",
        "mobile": "010-2345-6789",
        "age": 38,
        "lifecycle_stage": "customer",
        "value_tier": "regular",
        "activity_status": "active",
        "last_seen_at": "2026-05-01T05:03:00+00:00",
    },
    "consents": [_CONSENT],
    "report": {"recent_visits": 4, "policies": [{"policy_id": "P-1", "status": "active"}]},
    "preferences": {"content": [{"key": "교육자금", "score": 2.7, "share": 0.61}]},
    "prospect": {"score": 62, "reasons": ["상품 3회 조회 (+30)"]},
    "segments": ["customer"],
    "journeys": [
        {
            "journey_id": "maturity-retention",
            "version": 2,
            "state": "email_offer",
            "status": "active",
            "entered_at": "2026-04-28T01:00:00+00:00",
        }
    ],
    "recent_events": [
        {
            "id": 912,
            "event_id": "site-77",
            "type": "product_view",
            "occurred_at": "2026-05-01T05:03:00+00:00",
            "source": "api",
            "properties": {"product": "EDU"},
            "processed": True,
        }
    ],
    "talking_points": ["관심 콘텐츠 '교육자금' (관심도 61%)"],
}


def _example(description: str, example: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


class ConsentsIn(BaseModel):
    """The body of ``PATCH /v1/customers/{id}/consents``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"consents": {"email": False, "ad": True}, "source": "phone"}]
        },
    )

    consents: dict[str, StrictBool] = Field(
        min_length=1,
        max_length=len(CONSENT_KINDS),
        description=f"kind → granted, kinds: {', '.join(CONSENT_KINDS)}",
    )
    source: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="how the customer gave it (phone, branch, form …); default: who changed it",
    )


@router.get(
    "",
    summary="Find customers",
    responses={
        200: _example(
            "matches, an exact id first",
            {"customers": [{"customer_id": "C-1001", "name": "김민지", "mobile": "010-2345-6789"}]},
        )
    },
)
def search(
    _who: Reader,
    q: Annotated[str, Query(min_length=1, max_length=100, pattern=NO_NUL)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Customers whose id, name, e-mail or mobile number matches ``q`` (a phone number
    with or without dashes)."""
    return {"customers": search_customers(q, limit)}


@router.get(
    "/{customer_id}",
    summary="One customer's profile",
    responses={200: _example("the profile", PROFILE_EXAMPLE), 404: {"description": "unknown"}},
)
def profile(customer_id: CustomerId, _who: Reader) -> dict[str, Any]:
    """Profile and lifecycle stage, consents with their dates and sources, preferences,
    prospect score with its reasons, segments, journeys with their state, the last 20
    events, and what an agent would bring up on a call."""
    facts = customer_facts(customer_id)
    if facts is None:
        raise HTTPException(404, detail=f"no customer '{customer_id}'")
    return facts


@router.get(
    "/{customer_id}/events",
    summary="A customer's event timeline",
    responses={
        200: _example(
            "events newest first; next_cursor fetches the older page (null: no more)",
            {"events": PROFILE_EXAMPLE["recent_events"], "next_cursor": "MjAyNi0wNS0wMVQw"},
        ),
        404: {"description": "unknown customer"},
    },
)
def timeline(
    customer_id: CustomerId,
    _who: Reader,
    cursor: Annotated[
        str | None,
        Query(max_length=200, pattern=r"^[A-Za-z0-9_-]*$", description="a page's next_cursor"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """Events newest first (by when they happened, then as stored), a page at a time."""
    if not customer_exists(customer_id):
        raise HTTPException(404, detail=f"no customer '{customer_id}'")
    try:
        page = events_page(customer_id, cursor, limit)
    except BadCursor as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {"events": page.events, "next_cursor": page.next_cursor}


@router.patch(
    "/{customer_id}/consents",
    summary="Grant or withdraw consents",
    responses={
        200: _example(
            "the consents now, and the events that recorded the change",
            {
                "customer_id": "C-1001",
                "consents": [_CONSENT | {"granted": False, "source": "phone"}],
                "event_ids": [913],
                "by": "ops-kim",
                "source": "phone",
            },
        ),
        404: {"description": "unknown customer"},
        422: {"description": "an unknown consent kind"},
    },
)
def change_consents(customer_id: CustomerId, body: ConsentsIn, who: Writer) -> dict[str, Any]:
    """Record each change as a ``consent_changed`` event (with its source and who made
    it) and apply it at once: a withdrawal holds before the next send."""
    source = body.source or who.name
    try:
        stored = record_consents(customer_id, body.consents, source=source, by=who.name)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except ValidationError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if stored:
        process_events(stored)
    card = customer_card(customer_id)
    consents = card["consents"] if card else []
    return {
        "customer_id": customer_id,
        "consents": consents,
        "event_ids": stored,
        "by": who.name,
        "source": source,
    }
