"""The person's rows on PostgreSQL come in one pipeline of raw statements: they must be
what the SQLAlchemy statements give (SQLite's path), value for value and type for type,
for a customer, a visitor, a visitor stitched to a customer and someone unknown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session

from automation import clock
from automation.db import get_engine, session_scope
from automation.models import Customer, Event, Identity, Policy
from automation.personalize import people

NOW = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)


@pytest.fixture
def rows(postgres_database: str) -> None:
    with session_scope() as s:
        s.add(Customer(customer_id="C1", name="김하나", gender="F", joined_at=NOW))
        s.add(Customer(customer_id="C2", name="이둘", birth_date=date(1990, 1, 2)))
    with session_scope() as s:
        s.add(Policy(policy_id="P1", customer_id="C1", product_code=None, premium=Decimal("1.5")))
        s.add(Policy(policy_id="P2", customer_id="C1", start_date=date(2020, 2, 3)))
        s.add(Identity(visitor_id="v-signed", customer_id="C1", first_seen_at=NOW,
                       last_seen_at=NOW, visits=4))  # fmt: skip
        s.add(Identity(visitor_id="v-anon", first_seen_at=NOW, last_seen_at=NOW, visits=2))
        for i, (visitor, cid, kind, props) in enumerate(
            [
                ("v-signed", "C1", "content_view", {"content": "health"}),
                ("v-signed", "C1", "product_view", {"product": "X", "category": "life"}),
                ("v-anon", None, "page_view", {"url": "/"}),
                ("v-anon", None, "content_view", {"content": "pension"}),
                ("v-anon", None, "email_opened", {}),  # not a view
            ]
        ):
            at = NOW - timedelta(days=i)
            s.add(Event(event_id=f"e{i}", type=kind, occurred_at=at, received_at=at,
                        visitor_id=visitor, customer_id=cid, properties=props))  # fmt: skip


def _both(**ids: Any) -> Iterator[Any]:
    since = NOW - timedelta(days=people.RECENT_DAYS)
    with get_engine().connect() as conn:
        yield people._load_pg(conn.connection.driver_connection, since, **ids)
    with get_engine().connect() as conn:
        yield people._load_core(conn, since, **ids)


def _typed(row: Any) -> dict[str, Any]:
    """A row's values with their types and zones: equal values of other types differ."""
    return {k: (v, type(v), getattr(v, "tzinfo", None)) for k, v in row._asdict().items()}


def _seen(person: people.Person | None) -> Any:
    if person is None:
        return None
    facts = dict(vars(person))
    facts["customer"] = _typed(person.customer) if person.customer else None
    facts["policies"] = sorted((_typed(p) for p in person.policies), key=str)
    return facts


@pytest.mark.parametrize(
    "ids",
    [
        {"customer_id": "C1", "visitor_id": "v-signed"},
        {"customer_id": "C1", "visitor_id": None},
        {"customer_id": "C2", "visitor_id": "v-anon"},
        {"customer_id": None, "visitor_id": "v-signed"},  # stitched: the customer
        {"customer_id": None, "visitor_id": "v-anon"},
        {"customer_id": None, "visitor_id": "never-seen"},
        {"customer_id": "NOBODY", "visitor_id": "v-anon"},
    ],
)
def test_the_pipeline_reads_what_sqlalchemy_reads(rows: None, ids: dict[str, Any]) -> None:
    clock.freeze(NOW)
    piped, core = _both(**ids)
    assert _seen(piped) == _seen(core)
    if ids["visitor_id"] == "v-signed":
        assert piped is not None and piped.key == "C1" and piped.visits == 4
        assert piped.content == {"health": 1} and piped.page_views == 2
        assert piped.customer.joined_at.tzinfo is UTC


def test_load_person_takes_the_pipeline_on_postgresql(rows: None) -> None:
    with get_engine().connect() as conn:
        person = people.load_person(Session(bind=conn), NOW, customer_id=None, visitor_id="v-anon")
    assert person is not None and person.visits == 2 and person.content == {"pension": 1}
