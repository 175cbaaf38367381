"""How a job hands its events to ingest: only the ones not stored yet, in batches.

Ingest would refuse a known ``event_id`` anyway; asking first (one indexed look-up
per batch) keeps a job that runs every few minutes over a standing list (customers
whose consent is about to lapse, say) from re-validating the same events each time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Row, Select, select

from automation.db import get_engine
from automation.db.sql import among, chunks
from automation.events.ingest import ingest
from automation.events.schema import EventIn
from automation.models import Customer, Event

BATCH = 1000
PAGE = 10_000
log = logging.getLogger(__name__)
_events = Event.__table__  # type: ignore[attr-defined]
_customer_id = Customer.__table__.c.customer_id  # type: ignore[attr-defined]


def emit(events: list[EventIn]) -> int:
    """Ingest the events whose ids are new, in order; returns how many were stored."""
    stored = 0
    for part in chunks(events, BATCH):
        known = _known([e.event_id for e in part])
        fresh = [e for e in part if e.event_id not in known]
        if fresh:
            result = ingest(fresh, source="scheduler")
            stored += result.count("accepted")
            for refused in result.results:
                if refused.errors:  # a job's own bug: say so, keep going
                    log.error("scheduler event %s refused: %s", refused.event_id, refused.errors)
    return stored


def _known(event_ids: list[str]) -> set[str]:
    with get_engine().connect() as conn:
        dialect = conn.dialect.name
        query = select(_events.c.event_id).where(among(dialect, _events.c.event_id, event_ids))
        return set(conn.execute(query).scalars())


def customer_pages(query: Select[Any], page: int = PAGE) -> Iterator[list[Row[Any]]]:
    """The rows of ``query`` over ``customers`` (first column ``customer_id``), a page
    at a time in customer-id order; a connection per page, so a long scan holds none
    while its events are ingested."""
    after = ""
    while True:
        paged = query.where(_customer_id > after).order_by(_customer_id).limit(page)
        with get_engine().connect() as conn:
            rows = list(conn.execute(paged))
        if not rows:
            return
        yield rows
        after = rows[-1][0]
