"""Writing a batch of validated events: one statement, duplicates skipped by ``event_id``.

PostgreSQL gets ``INSERT … SELECT FROM unnest(arrays)`` with binary parameters: one
short statement whatever the batch size, where a multi-row VALUES list of 9,000
placeholders costs psycopg a fresh parse of the query text on every batch.
SQLite keeps SQLAlchemy's multi-row INSERT.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Connection

from automation import clock
from automation.db.sql import dialect_insert
from automation.events.schema import EventIn
from automation.models import Event

_events = Event.__table__  # type: ignore[attr-defined]

# Each row with its own source and time received (a chunk's emitted events differ).
_PG_INSERT = """
INSERT INTO events (event_id, type, occurred_at, received_at, visitor_id, customer_id,
                    properties, source, attempts)
SELECT e, t, o, r, v, c, p, s, 0
FROM unnest(%b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[], %b::text[],
            %b::text[], %b::jsonb[], %b::text[])
     AS x(e, t, o, r, v, c, p, s)
ON CONFLICT (event_id) DO NOTHING
RETURNING id, event_id
"""


def insert_event_rows(conn: Connection, rows: list[tuple[EventIn, str, datetime]]) -> list[int]:
    """Store events not stored before, each with its source and time received, in one
    statement; the database ids of those stored, in the order given."""
    stored = _insert(conn, rows)
    return list(
        {ev.event_id: stored[ev.event_id] for ev, _, _ in rows if ev.event_id in stored}.values()
    )


def insert_events(
    conn: Connection, events: list[EventIn], now: datetime, source: str
) -> dict[str, int]:
    """Store ``events`` not stored before; returns event_id → database id of those stored."""
    return _insert(conn, [(ev, source, now) for ev in events])


def _insert(conn: Connection, rows: list[tuple[EventIn, str, datetime]]) -> dict[str, int]:
    if conn.dialect.name == "postgresql":
        raw = cast(psycopg.Connection[Any], conn.connection.driver_connection)  # same transaction
        params = (
            [ev.event_id for ev, _, _ in rows],
            [ev.type for ev, _, _ in rows],
            # Plain times: psycopg binds a time as its difference from an epoch, which
            # for a pendulum one built a pendulum Interval, 11% of a chunk's CPU when its
            # sign-ups emitted their events (py-spy, bench/journeys.py).
            [clock.plain_utc(ev.occurred_at) for ev, _, _ in rows],
            [clock.plain_utc(at) for _, _, at in rows],
            [ev.visitor_id for ev, _, _ in rows],
            [ev.customer_id for ev, _, _ in rows],
            [Jsonb(ev.properties) for ev, _, _ in rows],
            [source for _, source, _ in rows],
        )
        with raw.cursor(binary=True) as cur:
            cur.execute(_PG_INSERT, params)
            return {event_id: pk for pk, event_id in cur.fetchall()}
    values = [
        {
            "event_id": ev.event_id,
            "type": ev.type,
            "occurred_at": ev.occurred_at,
            "received_at": at,
            "visitor_id": ev.visitor_id,
            "customer_id": ev.customer_id,
            "properties": ev.properties,
            "source": source,
            "attempts": 0,
        }
        for ev, source, at in rows
    ]
    stmt = (
        dialect_insert(conn, _events)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(_events.c.id, _events.c.event_id)
    )
    return {event_id: pk for pk, event_id in conn.execute(stmt, values)}
