"""A worker message's short chunk is filled with other waiting events (PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from automation import db
from automation.broker.enqueue import CHUNK
from automation.events.ingest import ingest
from automation.models import Event
from automation.worker import process
from tests.helpers import ExplodeOnBad, ev, events_by_id, statements_run

_events = Event.__table__  # type: ignore[attr-defined]


def waiting(*event_ids: str) -> list[int]:
    """Store page views whose messages are still queued (not published here)."""
    events = [ev(e, visitor_id=f"v-{e}") for e in event_ids]
    return ingest(events, publish=False).stored_ids


def processed() -> set[str]:
    return {e for e, row in events_by_id().items() if row.processed_at is not None}


def test_a_short_chunk_takes_the_events_still_waiting_for_their_messages(database: str) -> None:
    earlier = waiting(*(f"w{i}" for i in range(5)))
    own = waiting("own")
    took = process.process_events(own)
    if database.startswith("sqlite"):  # one writer at a time: nothing to gain, no filling
        assert took == 1 and processed() == {"own"}
        return
    assert took == 6 and processed() == {"own", *(f"w{i}" for i in range(5))}
    # Their own messages come later and find nothing left to do.
    assert process.process_events(earlier) == 0
    assert {row.attempts for row in events_by_id().values()} == {1}


def test_with_nothing_else_waiting_a_chunk_does_not_try_to_fill(postgres_database: str) -> None:
    """The claim says whether other events wait; an idle engine's chunk makes no fill
    statement (it was one of a one-event chunk's statements, finding nothing)."""
    own = waiting("alone")
    with statements_run() as statements:
        assert process.process_events(own) == 1
    claims = [s for s in statements if s.startswith("UPDATE events SET processed_at")]
    assert len(claims) == 1, claims  # the claim, and no fill
    # One waiting after all: the next chunk fills with it.
    later = waiting("later")
    assert process.process_events(waiting("own")) == 2 and processed() >= {"later", "own"}
    assert process.process_events(later) == 0


def test_a_chunk_is_filled_up_to_its_size_oldest_first(postgres_database: str) -> None:
    ids = waiting(*(f"w{i:03d}" for i in range(CHUNK + 20)))
    assert process.process_events(ids[-1:]) == CHUNK
    left = sorted(set(events_by_id()) - processed())
    # The message's own event and the CHUNK - 1 oldest went; the newest others wait.
    assert left == [f"w{i:03d}" for i in range(CHUNK - 1, CHUNK + 19)]


def test_an_event_that_failed_before_is_not_taken_as_a_filler(postgres_database: str) -> None:
    [failed] = waiting("failed")
    with db.get_engine().begin() as conn:
        conn.execute(
            update(_events).where(_events.c.id == failed).values(attempts=1, last_error="boom")
        )
    assert process.process_events(waiting("own")) == 1
    row = events_by_id()["failed"]
    assert row.processed_at is None and row.attempts == 1  # left to the relay, untouched


@pytest.fixture
def explode_on_bad(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(process, "STEPS", (*process.STEPS, ExplodeOnBad))
    yield


def test_a_bad_filler_fails_alone_and_the_rest_go_through(
    postgres_database: str, explode_on_bad: None
) -> None:
    waiting("w1", "bad", "w2")
    assert process.process_events(waiting("own")) == 3
    assert processed() == {"own", "w1", "w2"}
    bad = events_by_id()["bad"]
    assert bad.attempts == 1 and "boom" in (bad.last_error or "")
    # Failed once, it fills no later chunk: the next message goes through whole.
    assert process.process_events(waiting("next")) == 1
    assert events_by_id()["bad"].attempts == 1


def test_events_another_transaction_holds_are_skipped_not_waited_for(
    postgres_database: str,
) -> None:
    [held] = waiting("held")
    waiting("free")
    own = waiting("own")
    took: list[int] = []
    with db.get_engine().connect() as other:
        # The other transaction holds "held", as ingest's stitching would.
        other.execute(select(_events.c.id).where(_events.c.id == held).with_for_update())
        worker = threading.Thread(target=lambda: took.append(process.process_events(own)))
        worker.start()
        worker.join(timeout=20)
        other.rollback()  # lets a worker that waited for it go on, so the test ends
        worker.join()
    assert took == [2] and processed() == {"own", "free"}
