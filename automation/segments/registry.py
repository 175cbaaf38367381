"""Publishing segment definitions, and the compiled conditions of what is published."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from automation import clock
from automation.conditions import Condition, compile_condition
from automation.db import session_scope
from automation.errors import NotFound
from automation.models import Segment
from automation.models.definitions import PerStamp, Stamp
from automation.segments.spec import SegmentSpec, builtin_files, load_file


@dataclass(frozen=True)
class Published:
    segment_id: str
    changed: bool


def publish_files(paths: list[Path], *, builtin: bool = False) -> list[Published]:
    """Validate every file first, then save every segment in one transaction. A changed
    definition takes effect at the next refresh (or the next event of a member)."""
    return publish_specs([spec for path in paths for spec in load_file(path)], builtin=builtin)


def publish_specs(specs: list[SegmentSpec], *, builtin: bool = False) -> list[Published]:
    """Save validated segments in one transaction."""
    with session_scope() as session:
        return [_save(session, spec, builtin) for spec in specs]


def publish_builtin() -> list[Published]:
    """The segments the product ships."""
    return publish_files(builtin_files(), builtin=True)


def _save(session: Session, spec: SegmentSpec, builtin: bool) -> Published:
    row = session.get(Segment, spec.segment_id)
    if row is not None and row.checksum == spec.checksum:
        return Published(spec.segment_id, False)
    if row is None:
        row = Segment(segment_id=spec.segment_id, name=spec.name, checksum=spec.checksum)
    row.name, row.description, row.definition = spec.name, spec.description, spec.when
    row.checksum, row.builtin, row.updated_at = spec.checksum, builtin, clock.now()
    session.add(row)
    _compiled.clear()
    return Published(spec.segment_id, True)


def segments(session: Session) -> list[tuple[Segment, Condition]]:
    """Every published segment with its compiled condition, in id order."""
    rows = session.exec(select(Segment).order_by(col(Segment.segment_id))).all()
    return [(row, compiled(row)) for row in rows]


def conditions(session: Session, stamp: Stamp | None = None) -> list[tuple[str, Condition]]:
    """Every published segment's id and compiled condition, in id order: what the
    pipeline's segments step needs in every chunk. Kept per definitions stamp
    (``models/definitions.py``; None: read now, keep nothing). Else only ids and
    checksums are read, and a definition is loaded when its checksum is new to this
    process (hydrating every segment with its definition was a tenth of a one-event
    chunk's fixed cost)."""
    if (kept := _kept.get(stamp)) is not None:
        return kept
    query = select(col(Segment.segment_id), col(Segment.checksum)).order_by(col(Segment.segment_id))
    found: list[tuple[str, Condition]] = []
    for segment_id, checksum in session.exec(query).all():
        cond = _compiled.get((segment_id, checksum))
        if cond is None:
            cond = compiled(get(session, segment_id))
        found.append((segment_id, cond))
    return _kept.keep(stamp, found)


_kept: PerStamp[list[tuple[str, Condition]]] = PerStamp()


def get(session: Session, segment_id: str) -> Segment:
    """The segment called ``segment_id``."""
    row = session.get(Segment, segment_id)
    if row is None:
        raise NotFound(f"no segment '{segment_id}'")
    return row


_compiled: dict[tuple[str, str], Condition] = {}


def compiled(row: Segment) -> Condition:
    """The segment's condition, compiled once per definition."""
    key = (row.segment_id, row.checksum)
    if key not in _compiled:
        _compiled[key] = compile_condition(row.definition, allow_event=False)
    return _compiled[key]
