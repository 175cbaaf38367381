"""Identity resolution at ingest: visitors, customers, and stitching the two.

A visitor id (cookie) seen for the first time becomes an identity row; a
``signup`` or ``login`` carrying both ids links the visitor to the customer and
re-attributes the visitor's earlier anonymous events to that customer. Events
from a linked visitor that arrive later are attributed on the way in.

Only events this ingest stores count: a resent login is a duplicate and changes
nothing (it once moved a visitor's link back to an older customer). So
:func:`resolve` runs before the insert and touches nothing a login of the batch may
decide; :func:`stitch` runs after it, on the events the insert stored.

Lock order matters on PostgreSQL: processing locks event rows, then identities,
then customers, each sorted by key; after the events' insert, everything here writes
in that order too (new visitors, customers, events, links).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from automation.db.sql import among, dialect_insert
from automation.events.schema import STITCH_TYPES, EventIn
from automation.models import Customer, Event, Identity, LifecycleStage

_identities = Identity.__table__  # type: ignore[attr-defined]
_customers = Customer.__table__  # type: ignore[attr-defined]
_events = Event.__table__  # type: ignore[attr-defined]

Links = dict[str, tuple[str, datetime]]
Known = dict[str, str | None]  # stored visitor → customer links (None: anonymous)

_STITCH_EVENTS = (
    update(_events)
    .where(_events.c.visitor_id == bindparam("v_id"), _events.c.customer_id.is_(None))
    .values(customer_id=bindparam("c_id"))
)
_ATTRIBUTE_EVENTS = (
    update(_events).where(_events.c.id == bindparam("pk")).values(customer_id=bindparam("c_id"))
)
_LINK_VISITORS = (
    update(_identities)
    .where(_identities.c.visitor_id == bindparam("v_id"))
    .values(customer_id=bindparam("c_id"), stitched_at=bindparam("at"))
)


def links_in(events: Iterable[EventIn]) -> Links:
    """Visitor → (customer, when) from the batch's sign-ups and logins; the latest wins."""
    links: Links = {}
    for ev in events:
        if ev.type in STITCH_TYPES and ev.visitor_id and ev.customer_id:
            held = links.get(ev.visitor_id)
            if held is None or ev.occurred_at >= held[1]:
                links[ev.visitor_id] = (ev.customer_id, ev.occurred_at)
    return links


def known_links(conn: Connection, visitor_ids: set[str]) -> Known:
    """The stored visitor → customer links for ``visitor_ids`` (None: still anonymous)."""
    if not visitor_ids:
        return {}
    column = _identities.c.visitor_id
    query = select(column, _identities.c.customer_id).where(
        among(conn.dialect.name, column, sorted(visitor_ids))
    )
    return {v: c for v, c in conn.execute(query)}


def resolve(events: list[EventIn], conn: Connection) -> Known:
    """Before the insert: fill in ``customer_id`` on anonymous events from stored links.

    A visitor a sign-up or login of the batch names is left alone: whether that login
    links it is known only once the insert says it is not a duplicate (:func:`stitch`).
    Returns the stored links, for :func:`stitch`.
    """
    known = known_links(conn, {ev.visitor_id for ev in events if ev.visitor_id})
    linking = links_in(events)
    for ev in events:
        if ev.customer_id is None and ev.visitor_id and ev.visitor_id not in linking:
            ev.customer_id = known.get(ev.visitor_id)
    return known


def stitch(
    conn: Connection, events: list[EventIn], stored: dict[str, int], known: Known, now: datetime
) -> int:
    """After the insert, from the events it ``stored`` (event_id → row id): store new
    visitors, link visitors to customers and give them their anonymous history.

    Writes identities (new), customers (new), events, then identities (links), each
    sorted by key: the order processing locks them in. Returns the visitors linked.
    """
    kept = [ev for ev in events if ev.event_id in stored]
    links = links_in(kept)
    first_seen: dict[str, datetime] = {}
    late: list[dict[str, Any]] = []
    for ev in kept:
        visitor = ev.visitor_id
        if not visitor:
            continue
        if visitor not in known:
            seen = first_seen.get(visitor)
            if seen is None or ev.occurred_at < seen:
                first_seen[visitor] = ev.occurred_at
        elif ev.customer_id is None and visitor not in links and (customer := known[visitor]):
            # Left for a login of the batch that was a duplicate: the stored link, as on
            # the way in.
            late.append({"pk": stored[ev.event_id], "c_id": customer})
    _insert_visitors(conn, first_seen)
    _ensure_customers(conn, {c for c, _ in links.values()})
    if late:
        conn.execute(_ATTRIBUTE_EVENTS, sorted(late, key=itemgetter("pk")))
    if links:
        # Two statements, each executed for all links sorted by visitor (psycopg
        # pipelines them): events first, then identities.
        params = [{"v_id": v, "c_id": links[v][0], "at": now} for v in sorted(links)]
        conn.execute(_STITCH_EVENTS, [{"v_id": p["v_id"], "c_id": p["c_id"]} for p in params])
        conn.execute(_LINK_VISITORS, params)
    return len(links)


def _insert_visitors(conn: Connection, first_seen: dict[str, datetime]) -> None:
    # Sorted, so two batches inserting overlapping visitors cannot deadlock.
    if not first_seen:
        return
    rows = [
        {"visitor_id": v, "customer_id": None, "first_seen_at": t, "last_seen_at": t, "visits": 0}
        for v, t in sorted(first_seen.items())
    ]
    conn.execute(dialect_insert(conn, _identities).on_conflict_do_nothing(), rows)


def _ensure_customers(conn: Connection, customer_ids: set[str]) -> None:
    # A sign-up can name a customer the CRM has not exported yet: the row must exist
    # for the identity link; the profile step fills it in when the event is processed.
    if not customer_ids:
        return
    member = LifecycleStage.MEMBER.value
    rows = [{"customer_id": c, "lifecycle_stage": member} for c in sorted(customer_ids)]
    conn.execute(dialect_insert(conn, _customers).on_conflict_do_nothing(), rows)
