"""Journeys (admin key, or a console session): the list, one journey's versions with
customers per state, publishing a YAML file as the next version, pause and resume.

Publishing is ``console/journey_files.py``'s (the console's upload): a file the API
accepts is one the console and ``automation journeys publish`` accept, and a refused
one answers 422 with every problem as ``FILE:LINE: reason``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from automation import clock
from automation.api.deps import NO_NUL
from automation.api.people import Reader, Writer
from automation.console.journey_files import (
    MAX_UPLOAD_BYTES,
    UploadTooLarge,
    read_upload,
    upload_name,
    versions,
)
from automation.errors import NotFound, ValidationError
from automation.journeys.registry import publish_text, set_status, summary
from automation.journeys.spec import SpecError
from automation.models import JourneyStatus

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])

JourneyId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NO_NUL, description="the journey's id")
]
SUMMARY_EXAMPLE = {
    "journey": "welcome",
    "name": "회원 가입 환영 (welcome)",
    "status": "active",
    "latest_version": 2,
    "customers": {"v1": {"completed": 120}, "v2": {"thanks": 8, "tips": 3}},
}
YAML_EXAMPLE = """journey: welcome
name: 회원 가입 환영 (welcome)
entry:
  on: signup
  reentry: once
start: thanks
states:
  thanks:
    do:
      - email: welcome
    after: {wait: 2d, to: done}
  done:
    end: true
"""


def _example(description: str, example: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


@router.get(
    "",
    summary="Every journey",
    responses={200: _example("journeys by id", {"journeys": [SUMMARY_EXAMPLE]})},
)
def list_journeys(_who: Reader) -> dict[str, Any]:
    """Each journey: status, latest version, and customers per version and state
    (active ones by state, finished ones by how they finished)."""
    return {"journeys": summary()}


@router.get(
    "/{journey_id}",
    summary="One journey with its versions",
    responses={
        200: _example(
            "the journey, and its versions newest first",
            SUMMARY_EXAMPLE
            | {
                "versions": [
                    {
                        "version": 2,
                        "published_at": "2026-05-01T01:00:00+00:00",
                        "customers": {"thanks": 8, "tips": 3},
                        "total": 11,
                    }
                ],
                "source": YAML_EXAMPLE,
            },
        ),
        404: {"description": "unknown journey"},
    },
)
def show(journey_id: JourneyId, _who: Reader) -> dict[str, Any]:
    """The journey, each version with its customers per state, and the latest
    version's YAML."""
    try:
        [described] = summary(journey_id)
        _journey, views = versions(journey_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return described | {
        "versions": [
            {
                "version": v.version,
                "published_at": clock.to_utc(v.published_at).isoformat()
                if v.published_at
                else None,
                "customers": v.counts,
                "total": v.total,
            }
            for v in views
        ],
        "source": views[0].source if views else None,
    }


@router.post(
    "",
    summary="Publish a journey file",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": f"the journey file, UTF-8, at most {MAX_UPLOAD_BYTES // 1024} KB",
            "content": {
                "application/yaml": {"schema": {"type": "string"}, "example": YAML_EXAMPLE},
                "text/plain": {"schema": {"type": "string"}, "example": YAML_EXAMPLE},
            },
        }
    },
    responses={
        200: _example("identical to the latest version: nothing new", {"journey": "welcome"}),
        201: _example(
            "published as the journey's next version",
            {"journey": "welcome", "version": 2, "created": True},
        ),
        413: {"description": "over 256 KB"},
        422: _example(
            "refused: every problem as FILE:LINE: reason",
            {
                "detail": "the journey file was refused",
                "problems": ["welcome.yaml:14: after.wait: 'soon' is not a duration"],
            },
        ),
    },
)
async def publish(
    request: Request,
    _who: Writer,
    name: Annotated[
        str | None,
        Query(max_length=100, pattern=NO_NUL, description="the file name problems cite"),
    ] = None,
) -> JSONResponse:
    """Validate the YAML body and publish it as its journey's next version; a file
    identical to the latest version makes none (200)."""
    label = upload_name(name or "journey.yaml")
    data = await request.body()
    try:
        text = read_upload(data, label)
        published = publish_text(text, label)
    except UploadTooLarge as exc:
        raise HTTPException(413, detail=exc.problems[0]) from None
    except SpecError as exc:
        problems = {"detail": "the journey file was refused", "problems": exc.problems}
        return JSONResponse(problems, status_code=422)
    except ValidationError as exc:
        return JSONResponse({"detail": str(exc), "problems": [str(exc)]}, status_code=422)
    answer = {
        "journey": published.journey_id,
        "version": published.version,
        "created": published.created,
    }
    return JSONResponse(answer, status_code=201 if published.created else 200)


def _status(journey_id: str, status: JourneyStatus) -> dict[str, Any]:
    try:
        set_status(journey_id, status)
        [described] = summary(journey_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return described


@router.post(
    "/{journey_id}/pause",
    summary="Pause a journey",
    responses={
        200: _example("the journey, paused", SUMMARY_EXAMPLE | {"status": "paused"}),
        404: {"description": "unknown journey"},
    },
)
def pause(journey_id: JourneyId, _who: Writer) -> dict[str, Any]:
    """No one enters; customers keep their place (goals and exits still apply) until
    the journey is resumed."""
    return _status(journey_id, JourneyStatus.PAUSED)


@router.post(
    "/{journey_id}/resume",
    summary="Resume a journey",
    responses={
        200: _example("the journey, active", SUMMARY_EXAMPLE),
        404: {"description": "unknown journey"},
    },
)
def resume(journey_id: JourneyId, _who: Writer) -> dict[str, Any]:
    """Customers enter again; timers that came due while paused fire on the next tick."""
    return _status(journey_id, JourneyStatus.ACTIVE)
