"""History counts read ahead for a chunk's customers: the same memberships as a count
per event, in one statement, and never stale after the chunk stores an event itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from automation import clock
from automation.db import session_scope
from automation.events.ingest import ingest
from automation.events.outbox import pending_events
from automation.journeys.registry import publish_text
from automation.models import SegmentChange, SegmentMember
from automation.segments import registry
from automation.segments.spec import load_text
from automation.worker import process
from tests.helpers import statements_run
from tests.journey_world import World

VIEWERS = """\
segments:
- segment: viewers
  name: Viewed products three times in 30 days
  when:
    events: {type: product_view, within: 30d, count: {gte: 3}}
- segment: readers
  name: Read two education pieces in 30 days
  when:
    events: {type: content_view, within: 30d, count: {gte: 2}, where: {content: education}}
"""
SCORER = """\
journey: scorer
name: Scorer
entry:
  on: quote_request
start: tag
states:
  tag:
    do:
      - emit: {type: lead_scored}
    end: true
"""


def _members(segment: str) -> list[str]:
    with session_scope() as s:
        rows = s.exec(select(SegmentMember).where(SegmentMember.segment_id == segment))
        return sorted(r.customer_id for r in rows)


def _one_chunk(events: list[tuple[str, str, int, dict[str, Any]]]) -> None:
    """Ingest (type, customer, days ago, properties) events, then process them all as
    one chunk, as a worker's message does."""
    now = clock.now()
    rows = [
        {
            "event_id": f"e{n}",
            "type": kind,
            "customer_id": customer_id,
            "occurred_at": (now - timedelta(days=days)).isoformat(),
            "properties": properties,
        }
        for n, (kind, customer_id, days, properties) in enumerate(events)
    ]
    assert ingest(rows, publish=False).rejected == 0
    ids = pending_events(0)
    assert len(ids) == len(rows)
    process.process_events(ids)


def test_a_chunk_of_views_enters_the_customers_its_history_counts(database: str) -> None:
    world = World(builtin=False)
    registry.publish_specs(load_text(VIEWERS))
    for customer_id in ("C1", "C2", "C3", "C4"):
        world.customer(customer_id)
    with statements_run() as statements:
        _one_chunk(
            [
                *(("product_view", "C1", days, {"product": "EDU-CARE"}) for days in (1, 2, 3)),
                # two in the window and one 40 days ago: not yet
                *(("product_view", "C2", days, {"product": "EDU-CARE"}) for days in (1, 2, 40)),
                *(("content_view", "C3", 1, {"content": "education"}) for _ in range(2)),
                ("content_view", "C4", 1, {"content": "education"}),
                ("content_view", "C4", 1, {"content": "pension"}),
            ]
        )
    counted = [s for s in statements if "count(*)" in s and "FROM events" in s]
    assert _members("viewers") == ["C1"]
    assert _members("readers") == ["C3"]
    # One read for the whole chunk, not a count per view.
    assert len(counted) == 1, counted
    with session_scope() as s:
        changes = s.exec(select(SegmentChange).order_by(SegmentChange.id)).all()  # type: ignore[arg-type]
        assert [(c.segment_id, c.customer_id, c.entered) for c in changes] == [
            ("viewers", "C1", True),
            ("readers", "C3", True),
        ]


def test_an_event_the_chunk_stores_itself_is_counted(database: str) -> None:
    """A journey emits ``lead_scored`` for the customer while the chunk runs; the next
    event of the chunk counts it, as it did when each event asked the database."""
    world = World(builtin=False)
    registry.publish_specs(
        load_text(
            "segment: hot\nname: Scored twice\n"
            "when:\n  events: {type: lead_scored, count: {gte: 2}}\n"
        )
    )
    publish_text(SCORER, "scorer.yaml")
    world.customer("C1")
    _one_chunk([("quote_request", "C1", 0, {}), ("lead_scored", "C1", 0, {})])
    # The one posted and the one the journey emitted in the same chunk: two.
    assert _members("hot") == ["C1"]
