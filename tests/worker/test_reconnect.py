"""A chunk whose database connection is cut mid-transaction (a restart, a fail-over,
``pg_terminate_backend``) is worked again at once on a new connection, not left to the
relay a minute later."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from automation.events.ingest import ingest
from automation.events.outbox import unprocessed_count
from automation.worker import process
from tests.helpers import customer, ev, events_by_id


@pytest.mark.parametrize("size", [1, 3])
def test_a_chunk_whose_connection_is_cut_is_worked_again_on_a_new_one(
    size: int, postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [ev(f"s{i}", "signup", visitor_id=f"v{i}", customer_id=f"C{i}") for i in range(size)]
    stored = ingest(events, publish=False).stored_ids
    cuts: list[int] = []
    chunk = process.Chunk

    def cut_once(session: Any, loaded: Any, stamp: Any) -> Any:
        if not cuts:  # the server ends this transaction's session, as an administrator would
            cuts.append(1)
            session.connection().execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return chunk(session, loaded, stamp)

    monkeypatch.setattr(process, "Chunk", cut_once)
    assert process.process_events(stored) == size
    assert cuts == [1] and unprocessed_count() == 0
    stored_events = events_by_id()
    assert all(e.attempts == 1 and e.last_error is None for e in stored_events.values())
    assert customer("C0") is not None
