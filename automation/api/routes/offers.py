"""The offer rules over HTTP (admin key): the version in force, publishing a new one
(the YAML as the body; every problem as ``FILE:LINE``, 422), and what each rule earned."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from automation.api.deps import NO_NUL, OperatorName
from automation.console.journey_files import UploadTooLarge, read_upload
from automation.journeys.spec import SpecError
from automation.personalize import store
from automation.personalize.rules import OfferRulesError
from automation.reports.offers import offer_report
from automation.reports.period import Period

router = APIRouter(tags=["personalization"])


@router.get("/v1/offers")
def get_offers(_who: OperatorName) -> dict[str, Any]:
    """The rules in force, in order, and every published version."""
    version, rules = store.in_force()
    return {
        "version": version,
        "holdout": rules.holdout if rules else None,
        "rules": [
            {
                "rule": r.rule_id,
                "name": r.name,
                "audience": r.audience,
                "slot": r.slot,
                "offers": [
                    {"kind": i.kind, "key": i.key, "text": i.text, "url": i.url} for i in r.items
                ],
            }
            for r in (rules.rules if rules else ())
        ],
        "versions": [
            {
                "version": v.version,
                "published_by": v.published_by,
                "published_at": v.published_at.isoformat() if v.published_at else None,
            }
            for v in store.versions()
        ],
    }


@router.post(
    "/v1/offers",
    status_code=201,
    responses={
        422: {
            "description": "the file is refused: every problem as FILE:LINE: reason",
            "content": {
                "application/json": {
                    "example": {
                        "detail": "offers.yaml:7: slot: one of hero, side, banner, content",
                        "problems": ["offers.yaml:7: slot: one of hero, side, banner, content"],
                    }
                }
            },
        },
        413: {"description": "the body is over 256 KB"},
    },
)
async def post_offers(
    request: Request,
    who: OperatorName,
    name: Annotated[str, Query(min_length=1, max_length=100, pattern=NO_NUL)] = "offers.yaml",
) -> Any:
    """Publish the YAML body as the next version of the offer rules."""
    try:
        text = read_upload(await request.body(), name)
    except UploadTooLarge as exc:
        raise HTTPException(413, detail=exc.problems[0]) from None
    except SpecError as exc:  # empty, or not UTF-8: with its line
        return JSONResponse({"detail": str(exc), "problems": exc.problems}, 422)
    try:
        published = store.publish_text(text, name, by=who)
    except OfferRulesError as exc:
        return JSONResponse({"detail": str(exc), "problems": exc.problems}, 422)
    return {"version": published.version, "changed": published.changed}


@router.get("/v1/reports/offers", tags=["reports"])
def report_offers(
    _who: OperatorName,
    start: Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(alias="to", description="last day, YYYY-MM-DD")] = None,
) -> dict[str, Any]:
    """Per rule: people shown, clicks, conversions, credited, uplift over the holdout."""
    try:
        period = Period.of(start, end)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return offer_report(period)
