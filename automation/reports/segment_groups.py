"""Who was in which segment when, and the age band and gender the analyses group by.

Definitions (shared by ``segment_usage``, ``interest``, ``products`` and the web log's
``--segment``):

- **member at T**: a customer whose latest ``segment_changes`` row for the segment at
  or before T is an entry (every entry and exit, by event or refresh, is one). So a
  report about a past period sees the segment as it was, not as it is now: a
  "member, no policy" customer who bought since is still counted in it.
- **age band**: whole years at the reference day (29 February birthdays turn on the
  28th in a common year, as the condition language's ``customer.age``): ``under 20``,
  ``20s``, ``30s``, ``40s``, ``50s``, ``60+``; no birth date is ``unknown``.
- **gender**: the first letter of ``customers.gender``, upper-cased, when it is F or
  M (``female``, ``m`` …); anything else or nothing is ``unknown``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Subquery,
    Table,
    bindparam,
    case,
    func,
    literal,
    select,
)

from automation.conditions import CUSTOMERS
from automation.conditions.times import years_before
from automation.db.types import UTCDateTime
from automation.models import Segment, SegmentChange
from automation.reports.weblog_visits import visit_ctes

SEGMENTS: Table = Segment.__table__  # type: ignore[attr-defined]
CHANGES: Table = SegmentChange.__table__  # type: ignore[attr-defined]
# (lowest age, label), youngest first; the last band is open-ended.
AGE_BANDS = ((0, "under 20"), (20, "20s"), (30, "30s"), (40, "40s"), (50, "50s"), (60, "60+"))
BAND_ORDER = (*(label for _, label in AGE_BANDS), "unknown")
GENDERS = ("F", "M", "unknown")
UNKNOWN = "unknown"


class UnknownSegment(LookupError):
    """A segment id that names no published segment."""

    def __init__(self, segment: str, known: list[str]) -> None:
        self.segment = segment
        listed = ", ".join(known) if known else "none published"
        super().__init__(f"no segment '{segment}' (known: {listed})")

    def __str__(self) -> str:
        return str(self.args[0])


def segment_names(conn: Connection, segment: str | None = None) -> dict[str, str]:
    """Segment id → name, in id order; only ``segment`` when given.

    Raises:
        UnknownSegment: ``segment`` is not published.
    """
    s = SEGMENTS.c
    rows = conn.execute(select(s.segment_id, s.name).order_by(s.segment_id)).all()
    names = {str(r.segment_id): str(r.name) for r in rows}
    if segment is None:
        return names
    if segment not in names:
        raise UnknownSegment(segment, list(names))
    return {segment: names[segment]}


def unrecorded(conn: Connection, segments: list[str], as_of: datetime) -> list[str]:
    """Of ``segments``, those with no membership recorded at ``as_of``: published or
    first filled later, so a report looking then finds no members (said, not guessed).
    """
    c = CHANGES.c
    first = dict(
        conn.execute(
            select(c.segment_id, func.min(c.at))
            .where(c.segment_id.in_(segments))
            .group_by(c.segment_id)
        ).all()
    )
    return [s for s in segments if first.get(s) is None or _aware(first[s]) > as_of]


def _aware(at: datetime) -> datetime:
    # ``func.min`` loses the column's type on SQLite: a naive UTC text or datetime.
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def members_at(as_of: datetime, segments: list[str] | None = None) -> Subquery:
    """``(segment_id, customer_id)`` of the members at ``as_of`` (all segments, or those).

    The instant is bound as a value (not a named parameter), so a statement built from
    this runs on its own.
    """
    c = CHANGES.c
    at = bindparam(None, as_of, type_=UTCDateTime(), unique=True)
    latest = func.row_number().over(
        partition_by=(c.segment_id, c.customer_id), order_by=(c.at.desc(), c.id.desc())
    )
    ranked = select(c.segment_id, c.customer_id, c.entered, latest.label("latest")).where(
        c.at <= at
    )
    if segments is not None:
        ranked = ranked.where(c.segment_id.in_(segments))
    r = ranked.subquery("ranked")
    return (
        select(r.c.segment_id, r.c.customer_id)
        .where(r.c.latest == 1, r.c.entered.is_(True))
        .subquery("members")
    )


def in_segment(segment: str, as_of: datetime) -> ColumnElement[bool]:
    """A condition over ``CUSTOMERS``: the customer was in ``segment`` at ``as_of``."""
    members = members_at(as_of, [segment])
    return CUSTOMERS.c.customer_id.in_(select(members.c.customer_id))


def age_band(birth_date: Any, day: date) -> ColumnElement[str]:
    """The age band of ``birth_date`` on ``day``, by its cut-off birth dates (bound)."""
    whens: list[tuple[Any, Any]] = [(birth_date.is_(None), literal(UNKNOWN))]
    for (_, label), (older, _) in pairwise(AGE_BANDS):
        cut = bindparam(None, years_before(day, older), type_=Date(), unique=True)
        whens.append((birth_date > cut, literal(label)))  # not yet ``older`` years old
    return case(*whens, else_=literal(AGE_BANDS[-1][1]))


def gender(column: Any) -> ColumnElement[str]:
    """F, M or unknown from a free-text gender."""
    first = func.upper(func.substr(func.trim(column), 1, 1))
    return case((first.in_(("F", "M")), first), else_=literal(UNKNOWN))


def band_key(band: str) -> int:
    """Sort key of an age band (youngest first, unknown last, ``all`` after)."""
    return BAND_ORDER.index(band) if band in BAND_ORDER else len(BAND_ORDER)


def gender_key(value: str) -> int:
    return GENDERS.index(value) if value in GENDERS else len(GENDERS)


def member_visits(members: Subquery, conn: Connection, name: str) -> Subquery:
    """Per member who visited (the period the web-log CTEs are bound to): ``visits`` and
    ``pages``, keyed by ``customer_id``."""
    m = members.c
    customers = CUSTOMERS.c.customer_id.in_(select(m.customer_id))
    v = visit_ctes(customers, conn.dialect.name).visits.c
    return (
        select(
            v.cid.label("customer_id"),
            func.count().label("visits"),
            func.sum(v.pages).label("pages"),
        )
        .where(v.cid.is_not(None))
        .group_by(v.cid)
        .subquery(name)
    )
