"""The dialect helpers: ``among`` finds exactly the rows named, whatever the ids hold."""

from __future__ import annotations

from sqlalchemy import select

from automation.db import get_engine, session_scope
from automation.models import Customer
from automation.sql import among

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
