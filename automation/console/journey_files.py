"""The marketing-ops journey pages' domain side: an uploaded YAML file validated and
published as the journey's next version, and one journey's versions with their
customers per state.

Publishing goes through :mod:`automation.journeys.spec` and
:func:`automation.journeys.registry.publish`, so a file the console accepts is one the
CLI (``automation journeys publish``) would accept, with the same ``FILE:LINE`` problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from automation.db import session_scope
from automation.errors import NotFound
from automation.journeys.definition import JourneySpec
from automation.journeys.spec import SpecError, from_stored
from automation.models import Enrollment, Journey, JourneyVersion

MAX_UPLOAD_BYTES = 256 * 1024  # a journey is a page or two of YAML; this is generous
_UNSAFE = re.compile(r"[^\w.\-가-힣]")


class UploadTooLarge(SpecError):
    """The file is over :data:`MAX_UPLOAD_BYTES`; nothing was read into a journey."""


@dataclass(frozen=True)
class VersionView:
    """One published version: when, its source, and customers per state (active ones
    by state; finished ones by how they finished)."""

    version: int
    published_at: datetime | None
    source: str
    spec: dict[str, Any]
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def upload_name(filename: str | None) -> str:
    """The name problems are reported under: the file's own name, without any folder
    or characters that mean something elsewhere (it is shown on the page)."""
    name = PurePath((filename or "").replace("\\", "/")).name
    return _UNSAFE.sub("_", name)[:100] or "upload.yaml"


def read_upload(data: bytes, name: str) -> str:
    """The upload's text; raises :class:`SpecError` (as ``FILE:LINE``) if it is too
    large, empty or not UTF-8."""
    if len(data) > MAX_UPLOAD_BYTES:
        limit = MAX_UPLOAD_BYTES // 1024
        raise UploadTooLarge(
            [f"{name}: 파일이 너무 큽니다 (the file is over the {limit} KB limit)"]
        )
    try:
        text = data.decode("utf-8-sig")  # Windows editors prepend a BOM
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError([f"{name}:{line}: not UTF-8 ({exc.reason})"]) from None
    if not text.strip():
        raise SpecError([f"{name}:1: the file is empty"])
    return text


def versions(journey_id: str) -> tuple[Journey, list[VersionView]]:
    """The journey and its versions, newest first, each with customers per state."""
    with session_scope() as session:
        journey = session.get(Journey, journey_id)
        if journey is None:
            raise NotFound(f"no journey '{journey_id}'")
        rows = session.exec(
            select(JourneyVersion)
            .where(JourneyVersion.journey_id == journey_id)
            .order_by(col(JourneyVersion.version).desc())
        ).all()
        counts: dict[int, dict[str, int]] = {}
        for version_id, status, state, n in session.exec(
            select(Enrollment.version_id, Enrollment.status, Enrollment.state, func.count())
            .where(Enrollment.journey_id == journey_id)
            .group_by(col(Enrollment.version_id), col(Enrollment.status), col(Enrollment.state))
        ):
            where = state if status == "active" else status
            per = counts.setdefault(version_id, {})
            per[where] = per.get(where, 0) + n
        session.expunge(journey)
        views = [
            VersionView(v.version, v.published_at, v.source, v.spec, counts.get(v.id or 0, {}))
            for v in rows
        ]
    return journey, views


def spec_of(view: VersionView) -> JourneySpec:
    """The version's spec, read back from what was stored at publish."""
    return from_stored(view.spec)
