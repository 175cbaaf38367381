"""Small helpers shared by tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from automation import db
from automation.models import Customer, Event, Identity, Policy


def ev(
    event_id: str, type_: str = "page_view", at: str = "2026-11-22T10:00:00+09:00", **fields: Any
) -> dict[str, Any]:
    """An event in the wire format; ``page_view`` gets a url unless properties are given."""
    props = fields.pop("properties", {"url": "/"} if type_ == "page_view" else {})
    return {"event_id": event_id, "type": type_, "occurred_at": at, "properties": props, **fields}


def events_by_id() -> dict[str, Event]:
    with db.session_scope() as s:
        return {e.event_id: e for e in s.exec(select(Event)).scalars()}  # type: ignore[call-overload]


def customer(customer_id: str) -> Customer | None:
    with db.session_scope() as s:
        return s.get(Customer, customer_id)


def identity(visitor_id: str) -> Identity | None:
    with db.session_scope() as s:
        return s.get(Identity, visitor_id)


def policies_of(customer_id: str) -> list[Policy]:
    with db.session_scope() as s:
        return list(s.exec(select(Policy).where(Policy.customer_id == customer_id)).scalars())  # type: ignore[call-overload, arg-type]


class ExplodeOnBad:
    """A last pipeline step that fails on the event called ``bad``, after every other
    step applied it (``monkeypatch.setattr(process, "STEPS", (*STEPS, ExplodeOnBad))``)."""

    def __init__(self, chunk: Any) -> None:
        pass

    def apply(self, event: Event) -> None:
        if event.event_id == "bad":
            raise RuntimeError("boom")


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """The SQL statements the application's engine runs inside the block, whitespace
    folded to single spaces (how many round trips a step makes, and which)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    with _listening("before_cursor_execute", note):
        yield seen


@contextmanager
def commits_made() -> Iterator[list[str]]:
    """``synchronous_commit`` as each commit of the application's engine inside the block
    found it (PostgreSQL): "off" for a commit that returns before its flush to disk."""
    seen: list[str] = []

    def note(conn: Any) -> None:
        raw = conn.connection.driver_connection  # same transaction, no event of ours
        seen.append(raw.execute("SELECT current_setting('synchronous_commit')").fetchone()[0])

    with _listening("commit", note):
        yield seen


@contextmanager
def _listening(name: str, listener: Any) -> Iterator[None]:
    engine = db.get_engine()
    event.listen(engine, name, listener)
    try:
        yield
    finally:
        event.remove(engine, name, listener)
