"""Small helpers shared by tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

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
