"""``GET /v1/personalize``: a visitor's items per slot (the site's ``ingest`` key).

The site asks as a page loads, with the visitor's cookie id (and the customer id once
they are signed in); the answer is ranked items per slot with their reasons and
tokens. Its ``offer_viewed`` / ``offer_clicked`` events carry the tokens back.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated
from weakref import WeakKeyDictionary

import anyio.to_thread
import orjson
from anyio import CapacityLimiter
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from automation.api.deps import NO_NUL, IngestKey
from automation.personalize.engine import UnknownCustomer, personalize
from automation.personalize.rules import SLOTS

router = APIRouter(tags=["personalization"])
# Answers computed at once (each holds a pooled connection): under the pool's 10, so a
# burst waits here, cheaply, instead of opening and closing overflow connections and
# passing the GIL among 40 threads (the default thread pool's size).
AT_ONCE = 8
_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = WeakKeyDictionary()
_EXAMPLE = {
    "person": {"known": True, "customer_id": "C1001", "name": "김하나", "page_views_30d": 9},
    "holdout": False,
    "rules_version": 2,
    "slots": {
        "hero": [
            {
                "kind": "product",
                "key": "EDU-CARE",
                "name": "교보 에듀케어 교육보험",
                "text": "아이의 교육자금, 지금부터 준비하세요",
                "url": "/products/EDU-CARE",
                "reason": "rule young-parents: 자녀가 있는 30대 → 교육보험, 어린이 CI보험",
                "rule": "young-parents",
                "token": "eyJyIjoieW91bmctcGFyZW50cyIs…",
            }
        ]
    },
}


@router.get(
    "/v1/personalize",
    responses={
        200: {"content": {"application/json": {"example": _EXAMPLE}}},
        404: {"description": "the customer id names no customer"},
        422: {"description": "neither id, or an unknown slot"},
    },
)
async def get_personalize(
    _key: IngestKey,
    visitor_id: Annotated[str | None, Query(min_length=1, max_length=128, pattern=NO_NUL)] = None,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_NUL)] = None,
    page: Annotated[str | None, Query(max_length=2000, pattern=NO_NUL)] = None,
    slots: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
) -> Response:
    """Ranked items per slot for a customer or an anonymous visitor: greeting and
    anniversaries, the offer rules' items, products by what the person reads, popular
    with their gender and age band, new and MD picks, content; never a product the
    customer holds. A share of people (the rules' ``holdout``) gets the default content."""
    if visitor_id is None and customer_id is None:
        raise HTTPException(422, detail="give visitor_id (the site's cookie) or customer_id")
    wanted = _slots(slots)
    try:
        work = functools.partial(
            personalize, customer_id=customer_id, visitor_id=visitor_id, slots=wanted, page=page
        )
        answer = await anyio.to_thread.run_sync(work, limiter=_limiter())
    except UnknownCustomer as exc:
        raise HTTPException(404, detail=str(exc)) from None
    body = {
        "person": answer.person,
        "holdout": answer.holdout,
        "rules_version": answer.rules_version,
        "slots": answer.slots,
    }
    # orjson straight to bytes: FastAPI's encoder walked every item again (hot path).
    return Response(orjson.dumps(body), media_type="application/json")


def _limiter() -> CapacityLimiter:
    """This event loop's limiter (a limiter belongs to one loop; tests run several)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(AT_ONCE)
    return limiter


def _slots(text: str | None) -> tuple[str, ...]:
    if not text:
        return SLOTS
    wanted = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in wanted if s not in SLOTS]
    if unknown or not wanted:
        raise HTTPException(
            422, detail=f"unknown slot {', '.join(unknown) or '(none)'}; slots: {', '.join(SLOTS)}"
        )
    return wanted
