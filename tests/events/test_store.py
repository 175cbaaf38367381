"""Storing a batch of events keeps each time as the instant it names."""

from __future__ import annotations

from datetime import UTC, datetime

import pendulum
import pytest
from sqlalchemy.exc import StatementError

from automation import db
from automation.events.schema import EventIn
from automation.events.store import insert_events
from tests.helpers import events_by_id


def test_times_from_pendulum_and_the_standard_library_are_stored_as_their_instants(
    database: str,
) -> None:
    seoul = pendulum.datetime(2026, 11, 22, 9, 30, 15, 123456, tz="Asia/Seoul")
    plain = datetime(2026, 11, 22, 0, 30, 15, 654321, UTC)
    received = pendulum.datetime(2026, 11, 22, 10, 0, 0, 1, tz="America/New_York")
    events = [
        EventIn("p", "page_view", seoul, "v1", None, {"url": "/"}),
        EventIn("s", "page_view", plain, "v1", None, {"url": "/"}),
    ]
    with db.get_engine().begin() as conn:
        assert set(insert_events(conn, events, received, "test")) == {"p", "s"}
    stored = events_by_id()
    assert stored["p"].occurred_at == seoul and stored["s"].occurred_at == plain
    assert stored["p"].received_at == received == stored["s"].received_at
    assert stored["p"].occurred_at.utcoffset() == pendulum.duration(0)  # UTC as read back


def test_a_naive_time_is_refused_and_nothing_is_stored(database: str) -> None:
    naive = datetime(2026, 11, 22, 0, 30)  # noqa: DTZ001 - the bug being refused
    events = [EventIn("n", "page_view", naive, "v1", None, {"url": "/"})]
    refused = (ValueError, StatementError)  # SQLite: the column type refuses it, wrapped
    with pytest.raises(refused, match="naive datetime"), db.get_engine().begin() as conn:
        insert_events(conn, events, pendulum.now("UTC"), "test")
    assert events_by_id() == {}
