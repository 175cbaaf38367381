"""Published journeys: versions frozen at publish, compiled once per process, counted
per state for ``list`` and ``show``."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from automation import clock
from automation.db import session_scope
from automation.errors import NotFound, ValidationError
from automation.journeys.compiler import Compiled, compile_version
from automation.journeys.definition import JourneySpec
from automation.journeys.spec import SpecError, from_stored, load_file, load_text
from automation.models import Enrollment, Journey, JourneyStatus, JourneyVersion
from automation.models.definitions import PerStamp, Stamp

LIBRARY = Path(__file__).resolve().parent / "library"
_compiled: dict[tuple[str, int, str], Compiled] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Published:
    journey_id: str
    version: int
    created: bool  # False: identical to the latest version, nothing new


def builtin_files() -> list[Path]:
    """The journeys the product ships."""
    return sorted(LIBRARY.glob("*.yaml"))


def publish_files(paths: list[Path]) -> list[Published]:
    """Validate every file first, then publish them all in one transaction."""
    specs = [(load_file(p), p.read_text(encoding="utf-8")) for p in paths]
    known = {s.journey_id for s, _ in specs}
    with session_scope() as session:
        known |= set(session.exec(select(Journey.journey_id)).all())
        for spec, _ in specs:
            _check_handoffs(spec, known)
        return [publish(session, spec, source) for spec, source in specs]


def publish_text(text: str, name: str) -> Published:
    """Validate one journey file's ``text`` (every problem as ``name:LINE: reason``) and
    publish it as its journey's next version, in one transaction: a refused file writes
    nothing (an upload in the console, a ``POST /v1/journeys``).

    Raises:
        SpecError: the file is refused, or hands off to a journey that does not exist.
    """
    spec = load_text(text, name)
    with session_scope() as session:
        known = set(session.exec(select(Journey.journey_id)).all()) | {spec.journey_id}
        problems = [f"{name}: {problem}" for problem in unknown_handoffs(spec, known)]
        if problems:
            raise SpecError(problems)
        return publish(session, spec, text)


def publish(session: Session, spec: JourneySpec, source: str) -> Published:
    """Freeze ``spec`` as the journey's next version (unless it equals the latest)."""
    checksum = hashlib.sha256(
        json.dumps(spec.raw, sort_keys=True, default=str).encode()
    ).hexdigest()
    journey = session.get(Journey, spec.journey_id, with_for_update=True)
    if journey is None:
        journey = Journey(journey_id=spec.journey_id, name=spec.name)
        session.add(journey)
        session.flush()
    latest = (
        session.get(JourneyVersion, journey.latest_version_id)
        if journey.latest_version_id
        else None
    )
    if latest is not None and latest.checksum == checksum:
        return Published(spec.journey_id, latest.version, created=False)
    version = JourneyVersion(
        journey_id=spec.journey_id,
        version=(latest.version + 1) if latest else 1,
        spec=json.loads(json.dumps(spec.raw, default=str)),
        source=source,
        checksum=checksum,
    )
    session.add(version)
    session.flush()
    journey.latest_version_id = version.id
    journey.name = spec.name
    journey.updated_at = clock.now()
    session.add(journey)
    return Published(spec.journey_id, version.version, created=True)


@dataclass(frozen=True, slots=True)
class JourneyRow:
    """What the pipeline reads of a journey's row."""

    journey_id: str
    status: str
    latest_version_id: int | None


@dataclass(slots=True)
class Current:
    """What the journey step reads of the journey tables, kept per process while the
    definitions stamp stays (``models/definitions.py``)."""

    journeys: dict[str, JourneyRow]
    keys: dict[int, tuple[str, int, str]]  # version id → its key in the compiled cache
    # Event type → the machines it enters, in journey order (``engine.JourneyStep``).
    entries: dict[str, list[Compiled]] | None = None


_current: PerStamp[Current] = PerStamp()


def current(session: Session, stamp: Stamp | None, version_ids: set[int]) -> Current:
    """The journeys as published under ``stamp`` (None: read now, keep nothing), with
    the cache keys of their newest versions and of ``version_ids``, which
    :func:`compiled` then finds without a query. A chunk read the journeys and the
    versions' checksums each time: a quarter of a one-event chunk's CPU."""
    found = _current.get(stamp)
    if found is None:
        rows = session.exec(
            select(Journey.journey_id, Journey.status, Journey.latest_version_id)
        ).all()
        journeys = {j: JourneyRow(j, status, v) for j, status, v in rows}
        found = _current.keep(stamp, Current(journeys, {}))
    wanted = version_ids | {j.latest_version_id for j in found.journeys.values()}
    if missing := {v for v in wanted if v is not None} - found.keys.keys():
        url = str(session.get_bind().url)
        query = select(JourneyVersion.id, JourneyVersion.checksum).where(
            col(JourneyVersion.id).in_(sorted(missing))
        )
        # Versions never change: what is added here holds under any stamp.
        for version_id, checksum in session.exec(query):
            found.keys[version_id] = (url, version_id, checksum)  # type: ignore[index]
    keys: dict[int, tuple[str, int, str]] = session.info.setdefault("version_keys", {})
    keys.update(found.keys)
    return found


def compiled(session: Session, version_id: int) -> Compiled:
    """The machine of a version; versions never change, so it is built once per process
    (keyed by database, id and checksum: tests and tools may point one process at
    several databases, or at one whose ids restart)."""
    # The session's identity map holds rows weakly: remember the key for the session.
    keys: dict[int, tuple[str, int, str]] = session.info.setdefault("version_keys", {})
    cache_key = keys.get(version_id)
    if cache_key is not None and cache_key in _compiled:
        return _compiled[cache_key]
    # The checksum alone: loading the version row parsed its whole spec once per chunk.
    checksum = session.exec(
        select(JourneyVersion.checksum).where(JourneyVersion.id == version_id)
    ).first()
    if checksum is None:
        raise NotFound(f"journey version {version_id} does not exist")
    cache_key = keys[version_id] = (str(session.get_bind().url), version_id, checksum)
    hit = _compiled.get(cache_key)
    if hit is not None:
        return hit
    version = session.get(JourneyVersion, version_id)
    assert version is not None
    built = compile_version(version_id, from_stored(version.spec))
    with _lock:
        return _compiled.setdefault(cache_key, built)


def set_status(journey_id: str, status: JourneyStatus) -> None:
    """Pause or resume a journey."""
    with session_scope() as session:
        journey = session.get(Journey, journey_id)
        if journey is None:
            raise NotFound(f"no journey '{journey_id}'")
        journey.status = status.value
        journey.updated_at = clock.now()
        session.add(journey)


def summary(journey_id: str | None = None) -> list[dict[str, Any]]:
    """Journeys with their versions and how many customers are in each state."""
    with session_scope() as session:
        query = select(Journey).order_by(col(Journey.journey_id))
        if journey_id:
            query = query.where(Journey.journey_id == journey_id)
        journeys = list(session.exec(query))
        if journey_id and not journeys:
            raise NotFound(f"no journey '{journey_id}'")
        return [_describe(session, j) for j in journeys]


def _describe(session: Session, journey: Journey) -> dict[str, Any]:
    versions = {
        v.id: v.version
        for v in session.exec(
            select(JourneyVersion).where(JourneyVersion.journey_id == journey.journey_id)
        )
    }
    rows = session.exec(
        select(Enrollment.version_id, Enrollment.status, Enrollment.state, func.count())
        .where(Enrollment.journey_id == journey.journey_id)
        .group_by(col(Enrollment.version_id), col(Enrollment.status), col(Enrollment.state))
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for version_id, status, state, n in rows:
        label = f"v{versions.get(version_id, '?')}"
        where = state if status == "active" else status
        counts.setdefault(label, {})[where] = counts.setdefault(label, {}).get(where, 0) + n
    latest = versions.get(journey.latest_version_id) if journey.latest_version_id else None
    return {
        "journey": journey.journey_id,
        "name": journey.name,
        "status": journey.status,
        "latest_version": latest,
        "customers": counts,
    }


def unknown_handoffs(spec: JourneySpec, known: set[str]) -> list[str]:
    """A problem for each hand-off of ``spec`` to a journey not in ``known``."""
    return [
        f"state '{state.name}' hands off to unknown journey '{action.args['journey']}'"
        for state in spec.states.values()
        for action in state.actions
        if action.kind == "handoff" and action.args["journey"] not in known
    ]


def _check_handoffs(spec: JourneySpec, known: set[str]) -> None:
    problems = unknown_handoffs(spec, known)
    if problems:
        raise ValidationError(f"{spec.journey_id}: {problems[0]}")
