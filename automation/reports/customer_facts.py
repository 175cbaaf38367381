"""One customer as the resource API shows them: the customer card (``card.py``) with the
customer's journeys (each enrollment's journey, version, state and status) and their
recent events, and the event timeline a page at a time.

The timeline is newest first, by when each event happened and then by its row id, and
pages by a cursor naming the last event shown (not by an offset), so events arriving
while someone pages neither repeat nor vanish between pages.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from automation import clock
from automation.db import session_scope
from automation.models import Customer, Enrollment, Event, Journey, JourneyVersion
from automation.reports.card import customer_card

RECENT_EVENTS = 20
MAX_PAGE = 200


class BadCursor(ValueError):
    """A cursor this module did not give out (or one tampered with)."""


@dataclass(frozen=True)
class EventPage:
    """Events newest first, and the cursor of the next (older) page: None at the end."""

    events: list[dict[str, Any]]
    next_cursor: str | None


def customer_exists(customer_id: str) -> bool:
    """Whether ``customer_id`` names a customer."""
    with session_scope() as session:
        return session.get(Customer, customer_id) is not None


def customer_facts(customer_id: str) -> dict[str, Any] | None:
    """The card of ``customer_id`` with ``journeys`` and ``recent_events``, or None."""
    card = customer_card(customer_id)
    if card is None:
        return None
    with session_scope() as session:
        card["journeys"] = _journeys(session, customer_id)
        card["recent_events"] = _events(session, customer_id, None, RECENT_EVENTS)
    return card


def events_page(customer_id: str, cursor: str | None = None, limit: int = 50) -> EventPage:
    """One page of the customer's timeline, after ``cursor`` (the first page without).

    Raises:
        BadCursor: ``cursor`` is not one a page gave out.
    """
    after = _decode(cursor) if cursor else None
    limit = max(1, min(limit, MAX_PAGE))
    with session_scope() as session:
        rows = _events(session, customer_id, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = _encode(last["occurred_at"], last["id"]) if more and last else None
    return EventPage(rows, next_cursor)


def _journeys(session: Session, customer_id: str) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Enrollment, JourneyVersion.version, Journey.name, Journey.status)
        .join(JourneyVersion, col(JourneyVersion.id) == col(Enrollment.version_id))
        .join(Journey, col(Journey.journey_id) == col(Enrollment.journey_id))
        .where(Enrollment.customer_id == customer_id)
        .order_by(col(Enrollment.entered_at).desc(), col(Enrollment.id).desc())
    )
    return [
        {
            "enrollment_id": e.id,
            "journey_id": e.journey_id,
            "journey_name": name,
            "journey_status": journey_status,
            "version": version,
            "state": e.state,
            "status": e.status,
            "variant": e.variant,
            "control": e.control,
            "entered_at": _iso(e.entered_at),
            "state_entered_at": _iso(e.state_entered_at),
            "exited_at": _iso(e.exited_at),
        }
        for e, version, name, journey_status in rows
    ]


def _events(
    session: Session, customer_id: str, after: tuple[datetime, int] | None, limit: int
) -> list[dict[str, Any]]:
    query = select(Event).where(Event.customer_id == customer_id)
    if after is not None:
        at, row_id = after
        occurred, pk = col(Event.occurred_at), col(Event.id)
        query = query.where(or_(occurred < at, and_(occurred == at, pk < row_id)))
    query = query.order_by(col(Event.occurred_at).desc(), col(Event.id).desc()).limit(limit)
    return [
        {
            "id": e.id,
            "event_id": e.event_id,
            "type": e.type,
            "occurred_at": _iso(e.occurred_at),
            "source": e.source,
            "properties": e.properties,
            "processed": e.processed_at is not None,
        }
        for e in session.exec(query)
    ]


def _encode(occurred_at: str, row_id: int) -> str:
    raw = f"{occurred_at}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, row_id = raw.rpartition("|")
        parsed = clock.to_utc(datetime.fromisoformat(at))
        number = int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, OverflowError):
        raise BadCursor(f"'{cursor[:40]}' is not a cursor this timeline gave out") from None
    if not 0 < number < 2**63:
        raise BadCursor(f"'{cursor[:40]}' is not a cursor this timeline gave out")
    return parsed, number


def _iso(value: datetime | None) -> str | None:
    return clock.to_utc(value).isoformat() if value is not None else None
