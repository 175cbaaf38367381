"""The dialect helpers: ``among`` finds exactly the rows named, whatever the ids hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from automation.db import get_engine, session_scope
from automation.db.sql import among
from automation.models import Customer, Event

AWKWARD = ["plain", 'quo"te', "back\\slash", "com,ma", "{brace}", " spaced ", "NULL", "한글", ""]


def test_among_matches_ids_with_quotes_commas_braces_and_backslashes(database: str) -> None:
    with session_scope() as session:
        for n, cid in enumerate([*AWKWARD, "other"]):
            session.add(Customer(customer_id=cid or "-", name=f"n{n}"))
    wanted = [cid or "-" for cid in AWKWARD]
    customers = Customer.__table__.c  # type: ignore[attr-defined]
    with get_engine().connect() as conn:
        dialect = conn.dialect.name
        found = set(
            conn.scalars(
                select(customers.customer_id).where(among(dialect, customers.customer_id, wanted))
            )
        )
        assert found == set(wanted)
        none = list(
            conn.scalars(
                select(customers.customer_id).where(among(dialect, customers.customer_id, []))
            )
        )
        assert none == []


def test_among_finds_integer_ids(database: str) -> None:
    from sqlalchemy import BigInteger

    from automation.events.ingest import ingest
    from tests.helpers import ev

    stored = ingest([ev(f"e{n}", "page_view", visitor_id=f"v{n}") for n in range(5)]).stored_ids
    events = Event.__table__.c  # type: ignore[attr-defined]
    with get_engine().connect() as conn:
        dialect = conn.dialect.name
        wanted = [stored[1], stored[3], 10**12]
        found = conn.scalars(select(events.id).where(among(dialect, events.id, wanted, BigInteger)))
        assert sorted(found) == [stored[1], stored[3]]


def test_json_columns_keep_what_the_standard_library_wrote_and_refuse_what_it_refused(
    database: str,
) -> None:
    nested = [1.5, None, True, "한글"]
    with session_scope() as session:
        written = {"큰수": 2**70, 3: "integer key", "nested": nested}
        session.add(Customer(customer_id="J1", attributes=written))
    with session_scope() as session:
        stored = session.get(Customer, "J1")
        assert stored is not None
        assert stored.attributes == {"큰수": 2**70, "3": "integer key", "nested": nested}
    refused = (StatementError, TypeError)  # SQLAlchemy wraps it on SQLite, psycopg raises it
    with pytest.raises(refused, match="not JSON serializable"), session_scope() as session:
        session.add(Customer(customer_id="J2", attributes={"at": datetime.now(UTC)}))
    with session_scope() as session:
        assert session.get(Customer, "J2") is None
