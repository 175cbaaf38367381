"""Identity resolution at ingest: visitors, customers, and stitching the two.

A visitor id (cookie) seen for the first time becomes an identity row; a
``signup`` or ``login`` carrying both ids links the visitor to the customer and
re-attributes the visitor's earlier anonymous events to that customer. Events
from a linked visitor that arrive later are attributed on the way in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from automation.event_schema import STITCH_TYPES, EventIn
from automation.models import Customer, Event, Identity, LifecycleStage
from automation.sql import dialect_insert

_identities = Identity.__table__  # type: ignore[attr-defined]
_customers = Customer.__table__  # type: ignore[attr-defined]
_events = Event.__table__  # type: ignore[attr-defined]


def links_in(events: Iterable[EventIn]) -> dict[str, tuple[str, datetime]]:
    """Visitor → (customer, when) from the batch's sign-ups and logins; the latest wins."""
    links: dict[str, tuple[str, datetime]] = {}
    for ev in events:
        if ev.type in STITCH_TYPES and ev.visitor_id and ev.customer_id:
            held = links.get(ev.visitor_id)
            if held is None or ev.occurred_at >= held[1]:
                links[ev.visitor_id] = (ev.customer_id, ev.occurred_at)
    return links


def known_links(conn: Connection, visitor_ids: set[str]) -> dict[str, str | None]:
    """The stored visitor → customer links for ``visitor_ids`` (None: still anonymous)."""
    if not visitor_ids:
        return {}
    rows = conn.execute(
        select(_identities.c.visitor_id, _identities.c.customer_id).where(
            _identities.c.visitor_id.in_(visitor_ids)
        )
    )
    return {v: c for v, c in rows}


def resolve(events: list[EventIn], conn: Connection) -> dict[str, tuple[str, datetime]]:
    """Fill in ``customer_id`` on anonymous events from linked visitors; store new visitors.

    Returns the links this batch makes, for :func:`stitch` once events are stored.
    """
    visitor_ids = {ev.visitor_id for ev in events if ev.visitor_id}
    stored = known_links(conn, visitor_ids)
    links = links_in(events)
    for ev in events:
        if ev.customer_id is None and ev.visitor_id:
            link = links.get(ev.visitor_id)
            ev.customer_id = link[0] if link else stored.get(ev.visitor_id)
    first_seen: dict[str, datetime] = {}
    for ev in events:
        if ev.visitor_id and ev.visitor_id not in stored:
            seen = first_seen.get(ev.visitor_id)
            if seen is None or ev.occurred_at < seen:
                first_seen[ev.visitor_id] = ev.occurred_at
    _ensure_customers(conn, {c for c, _ in links.values()})
    if first_seen:
        rows = [
            {
                "visitor_id": v,
                "customer_id": None,
                "first_seen_at": t,
                "last_seen_at": t,
                "visits": 0,
            }
            for v, t in first_seen.items()
        ]
        conn.execute(dialect_insert(conn, _identities).on_conflict_do_nothing(), rows)
    return links


def stitch(conn: Connection, links: dict[str, tuple[str, datetime]], now: datetime) -> int:
    """Link visitors to customers and give their anonymous history to the customer.

    Returns how many earlier events were re-attributed.
    """
    # Lock order matters on PostgreSQL: processing locks an event row, then its
    # identity, then its customer; stitching takes them in the same order.
    moved = 0
    for visitor_id, (customer_id, _) in sorted(links.items()):
        result = conn.execute(
            update(_events)
            .where(_events.c.visitor_id == visitor_id, _events.c.customer_id.is_(None))
            .values(customer_id=customer_id)
        )
        moved += result.rowcount or 0
        conn.execute(
            update(_identities)
            .where(_identities.c.visitor_id == visitor_id)
            .values(customer_id=customer_id, stitched_at=now)
        )
    return moved


def _ensure_customers(conn: Connection, customer_ids: set[str]) -> None:
    # A sign-up can name a customer the CRM has not exported yet: the row must exist
    # for the identity link; the profile step fills it in when the event is processed.
    if not customer_ids:
        return
    rows = [
        {"customer_id": c, "lifecycle_stage": LifecycleStage.MEMBER.value}
        for c in sorted(customer_ids)
    ]
    conn.execute(dialect_insert(conn, _customers).on_conflict_do_nothing(), rows)
