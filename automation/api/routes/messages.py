"""Review items and channel pauses for operators (admin key): what ``automation messages``
does, for the console and for scripts. The rules are ``delivery/review.py``'s and
``delivery/pause.py``'s; this route parses, names the operator, calls, and answers (its
refusals as 404, 409 and 422).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from automation import clock
from automation.api.deps import NO_NUL, OperatorName, RowId
from automation.delivery import pause, review
from automation.errors import ValidationError

router = APIRouter(tags=["operations"])


Operator = OperatorName


class ResolveIn(BaseModel):
    """The body of ``POST /v1/messages/{id}/resolve``."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["sent", "resend"] = Field(
        description="sent: the server's log shows it delivered; resend: it does not"
    )
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


class PauseIn(BaseModel):
    """The body of ``POST /v1/channels/{channel}/pause``."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="paused by an operator", max_length=500, pattern=NO_NUL)
    seconds: int | None = Field(default=None, ge=1, le=30 * 86_400)


Channel = Annotated[str, "email, sms or call"]


@router.get("/v1/messages/review")
def list_review(
    _operator: Operator, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> dict[str, Any]:
    """Messages a stopped worker left between send and record, oldest first, with what
    to look for in the server's log (an e-mail's Message-ID, an SMS's message key)."""
    return {"messages": [_item_json(i) for i in review.in_review(limit)]}


@router.post("/v1/messages/{message_id}/resolve")
def resolve(message_id: RowId, body: ResolveIn, operator: Operator) -> dict[str, Any]:
    """Resolve a review item: ``sent`` records it sent; ``resend`` queues it to be sent once."""
    with _answers():
        if body.outcome == "sent":
            item = review.resolve_sent(message_id, reason=body.reason, by=operator)
        else:
            item = review.resolve_resend(message_id, reason=body.reason, by=operator)
    return {"message": _item_json(item), "resolved": body.outcome}


@router.get("/v1/channels")
def channels(_operator: Operator) -> dict[str, Any]:
    """Each channel: paused or not, messages waiting for it, messages in review."""
    return {"channels": [_state_json(s) for s in pause.states()]}


@router.post("/v1/channels/{channel}/pause")
def pause_channel(channel: Channel, body: PauseIn, operator: Operator) -> dict[str, Any]:
    """Stop attempting messages on ``channel``; those due wait (deferred) for the resume."""
    with _answers():
        held = pause.pause_channel(channel, seconds=body.seconds, reason=body.reason, by=operator)
    return {"channel": channel, "paused": _pause_json(held)}


@router.post("/v1/channels/{channel}/resume")
def resume_channel(channel: Channel, operator: Operator) -> dict[str, Any]:
    """Resume ``channel``; the messages it held are due at once."""
    with _answers():
        was_paused, released = pause.resume_channel(channel, by=operator)
    return {"channel": channel, "was_paused": was_paused, "released": released}


@contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except (review.UnknownMessage, pause.UnknownChannel) as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except review.NotInReview as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except ValidationError as exc:
        raise HTTPException(422, detail=str(exc)) from None


def _item_json(item: review.ReviewItem) -> dict[str, Any]:
    return {
        "id": item.message_id,
        "customer_id": item.customer_id,
        "channel": item.channel,
        "template": item.template,
        "journey_id": item.journey_id,
        "claimed_at": _iso(item.claimed_at),
        "created_at": _iso(item.created_at),
        "look_for": item.look_for,
        "reason": item.reason,
    }


def _state_json(state: pause.ChannelState) -> dict[str, Any]:
    return {
        "channel": state.channel,
        "paused": _pause_json(state.pause) if state.pause else None,
        "waiting": state.held,
        "in_review": state.in_review,
    }


def _pause_json(p: pause.Pause) -> dict[str, Any]:
    return {
        "since": _iso(p.paused_at),
        "until": _iso(p.until),
        "reason": p.reason,
        "by": p.paused_by,
    }


def _iso(value: datetime | None) -> str | None:
    return clock.to_utc(value).isoformat() if value is not None else None
