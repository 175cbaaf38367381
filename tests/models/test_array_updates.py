"""Changed rows written as one array UPDATE (PostgreSQL) or by the ORM (SQLite) read
back the same: every change, ``updated_at`` moved, nothing else touched."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pendulum
import psycopg
from sqlalchemy import event, text
from sqlalchemy.orm.attributes import flag_modified

from automation import clock, db
from automation.db import session_scope
from automation.models import Customer, array_updates

T0 = pendulum.datetime(2026, 9, 1, 9, tz="Asia/Seoul")


def test_changed_customers_are_written_and_the_rest_kept(database: str) -> None:
    with clock.frozen_at(T0), session_scope() as session:
        for n in range(3):
            session.add(
                Customer(
                    customer_id=f"C{n}", name=f"고객{n}", attributes={"a": n}, email_consent=True
                )
            )
    later = T0.add(hours=2)
    with _statements("UPDATE") as statements, clock.frozen_at(later), session_scope() as session:
        c0, c1 = session.get(Customer, "C0"), session.get(Customer, "C1")
        assert c0 is not None and c1 is not None
        c0.name, c0.attributes = "바뀐 이름", {"a": 10, "b": ["x"]}
        c1.attributes["a"] = 11  # changed in place, then flagged
        flag_modified(c1, "attributes")
        c1.sms_consent_at = later
        session.add_all([c0, c1])
    if database.startswith("postgresql"):  # a statement per set of changed columns
        assert len(statements) == 2 and all("unnest" in q for q in statements), statements
    assert array_updates.MODELS
    with db.get_engine().connect() as conn:
        rows: dict[str, Any] = {
            r.customer_id: r
            for r in conn.execute(
                text(
                    "SELECT customer_id, name, attributes, email_consent, sms_consent_at, "
                    "updated_at FROM customers ORDER BY customer_id"
                )
            )
        }

    def attrs(row: Any) -> Any:
        import json

        return row.attributes if isinstance(row.attributes, dict) else json.loads(row.attributes)

    assert rows["C0"].name == "바뀐 이름" and attrs(rows["C0"]) == {"a": 10, "b": ["x"]}
    assert attrs(rows["C1"]) == {"a": 11} and rows["C1"].name == "고객1"
    assert clock.to_utc(_aware(rows["C1"].sms_consent_at)) == later
    assert all(rows[c].email_consent for c in rows)  # untouched columns kept
    assert clock.to_utc(_aware(rows["C0"].updated_at)) == later
    assert clock.to_utc(_aware(rows["C1"].updated_at)) == later
    assert clock.to_utc(_aware(rows["C2"].updated_at)) == T0  # not changed, not written


@contextmanager
def _statements(prefix: str) -> Iterator[list[str]]:
    """Every statement starting with ``prefix`` that a checked-out PostgreSQL connection
    runs meanwhile, the ORM's or not, and every executemany."""
    seen: list[str] = []

    class Seen(psycopg.Cursor[Any]):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            if str(query).lstrip().upper().startswith(prefix):
                seen.append(str(query))
            return super().execute(query, *args, **kwargs)

        def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(f"executemany: {query}")
            return super().executemany(query, *args, **kwargs)

    def recording(dbapi_conn: Any, *_: Any) -> None:
        if isinstance(dbapi_conn, psycopg.Connection):
            dbapi_conn.cursor_factory = Seen

    def plain(dbapi_conn: Any, *_: Any) -> None:
        if isinstance(dbapi_conn, psycopg.Connection):
            dbapi_conn.cursor_factory = psycopg.Cursor

    event.listen(db.get_engine(), "checkout", recording)
    event.listen(db.get_engine(), "checkin", plain)
    try:
        yield seen
    finally:
        event.remove(db.get_engine(), "checkout", recording)
        event.remove(db.get_engine(), "checkin", plain)


def _aware(value: Any) -> Any:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_new_enrollments_are_inserted_together_and_their_later_changes_kept(
    database: str,
) -> None:
    from automation.db.ids import Ids
    from automation.journeys import rows
    from automation.models import Enrollment, Journey, JourneyVersion

    with clock.frozen_at(T0), session_scope() as session:
        session.add(Customer(customer_id="C0", name="고객0"))
        session.add(Journey(journey_id="j", name="j"))
        session.flush()
        session.add(JourneyVersion(journey_id="j", version=1, spec={}, checksum="x"))
    ids = Ids()
    with (
        _statements("INSERT INTO ENROLLMENTS") as inserts,
        clock.frozen_at(T0),
        session_scope() as session,
    ):
        made = []
        for key in ("a", "b", "c"):
            row = rows.new(
                Enrollment, journey_id="j", version_id=1, customer_id="C0", key=key, state="s"
            )
            row.id = ids.take(session.connection(), "enrollments")
            session.add(row)
            made.append(row)
        session.flush()
        rows.put(made[1], state="t", step=1)  # changed after it was inserted
        session.flush()
        rows.put(made[2], status="done")
    with db.get_engine().connect() as conn:
        stored = conn.execute(
            text("SELECT key, state, step, status FROM enrollments ORDER BY key")
        ).all()
    assert [tuple(r) for r in stored] == [
        ("a", "s", 0, "active"),
        ("b", "t", 1, "active"),
        ("c", "s", 0, "done"),
    ]
    if database.startswith("postgresql"):  # one statement for the three, not one each
        assert len(inserts) == 1 and "unnest" in inserts[0], inserts
