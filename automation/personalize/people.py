"""Who is asking: a known customer (their row, the policies they hold, what they read
in the last 30 days) or an anonymous visitor (what the web log knows of their cookie:
visits, and what they read before signing up). Up to four indexed look-ups, sent to
PostgreSQL together in one pipeline (one round trip)."""

from __future__ import annotations

from collections import Counter, namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select
from sqlmodel import Session

from automation.db.types import UTCDateTime
from automation.models import Customer, Event, Identity, Policy

_customers = Customer.__table__  # type: ignore[attr-defined]
_policies = Policy.__table__  # type: ignore[attr-defined]
_events = Event.__table__  # type: ignore[attr-defined]
_identities = Identity.__table__  # type: ignore[attr-defined]

RECENT_DAYS = 30
VIEW_TYPES = ("page_view", "content_view", "product_view")
MAX_EVENTS = 500  # enough to rank a month's interests; a bot's million views is not


def _views(where: Any) -> Any:
    """The properties of someone's recent views, newest first."""
    return (
        select(_events.c.properties)
        .where(where, _events.c.occurred_at >= bindparam("since"), _events.c.type.in_(VIEW_TYPES))
        .order_by(_events.c.occurred_at.desc())
        .limit(MAX_EVENTS)
    )


# Built once: composing the statements per request was a tenth of an answer's CPU.
_IDENTITY = select(_identities).where(_identities.c.visitor_id == bindparam("visitor_id"))
_CUSTOMER = select(_customers).where(_customers.c.customer_id == bindparam("customer_id"))
_POLICIES = select(_policies).where(_policies.c.customer_id == bindparam("customer_id"))
_CUSTOMER_VIEWS = _views(_events.c.customer_id == bindparam("customer_id"))
_VISITOR_VIEWS = _views(
    (_events.c.visitor_id == bindparam("visitor_id")) & _events.c.customer_id.is_(None)
)


@dataclass
class Person:
    """The facts items are chosen from."""

    key: str  # customer id, or "v:" + visitor id: what tokens and the holdout hash use
    customer: Any  # a customers row (read by attribute, like the model), or None
    visitor_id: str | None
    visits: int = 0
    policies: list[Any] = field(default_factory=list)  # policies rows
    content: Counter[str] = field(default_factory=Counter)  # views in RECENT_DAYS
    categories: Counter[str] = field(default_factory=Counter)
    products: Counter[str] = field(default_factory=Counter)
    page_views: int = 0

    @property
    def known(self) -> bool:
        return self.customer is not None

    @property
    def held(self) -> set[str]:
        """Product codes of the policies the customer holds now."""
        return {p.product_code for p in self.policies if p.status == "active" and p.product_code}


def load_person(
    session: Session, now: datetime, *, customer_id: str | None, visitor_id: str | None
) -> Person | None:
    """The person a request names (a visitor stitched to a customer is the customer);
    None when a customer id names no one."""
    # Core rows, not ORM objects: nothing is changed, and hydrating a customer through the
    # identity map cost 1.3 ms of a 5.5 ms answer. Rows read by attribute like the models.
    conn = session.connection()
    since = now - timedelta(days=RECENT_DAYS)
    if conn.dialect.name == "postgresql":
        # psycopg's own statements in a pipeline: SQLAlchemy cannot pipeline, and its
        # execution and result machinery was a third of an answer's CPU.
        return _load_pg(conn.connection.driver_connection, since, customer_id, visitor_id)
    return _load_core(conn, since, customer_id, visitor_id)


def _load_core(
    conn: Connection, since: datetime, customer_id: str | None, visitor_id: str | None
) -> Person | None:
    """:func:`load_person` with SQLAlchemy Core, one statement after another."""
    identity = None
    if visitor_id:
        identity = conn.execute(_IDENTITY, {"visitor_id": visitor_id}).first()
    if customer_id is None and identity is not None and identity.customer_id:
        customer_id = identity.customer_id
    if customer_id is not None:
        customer = conn.execute(_CUSTOMER, {"customer_id": customer_id}).first()
        if customer is None:
            return None
        person = Person(customer_id, customer, visitor_id)
        person.policies = list(conn.execute(_POLICIES, {"customer_id": customer_id}))
        views = conn.execute(_CUSTOMER_VIEWS, {"customer_id": customer_id, "since": since})
    else:
        assert visitor_id is not None
        person = Person(f"v:{visitor_id}", None, visitor_id)
        views = conn.execute(_VISITOR_VIEWS, {"visitor_id": visitor_id, "since": since})
    person.visits = identity.visits if identity is not None else 0
    _count_views(person, views)
    return person


def _count_views(person: Person, rows: Any) -> None:
    for (props,) in rows:
        person.page_views += 1
        for key, counter in (
            ("content", person.content),
            ("category", person.categories),
            ("product", person.products),
        ):
            value = props.get(key) if isinstance(props, dict) else None
            if isinstance(value, str) and value:
                counter[value] += 1


def _rows(table: Table) -> tuple[str, Callable[[Any], Callable[[Sequence[Any]], Any]]]:
    """The query for ``table``'s rows and a psycopg row factory that makes rows as
    SQLAlchemy returns them: read by attribute, instants in UTC (``UTCDateTime``)."""
    names = [c.name for c in table.c]
    aware = [i for i, c in enumerate(table.c) if isinstance(c.type, UTCDateTime)]
    row = namedtuple(f"{table.name}_row", names)  # type: ignore[misc]

    def make(values: Sequence[Any]) -> Any:
        out = list(values)
        for i in aware:
            if out[i] is not None:
                out[i] = out[i].astimezone(UTC)
        return row._make(out)

    columns = ", ".join(f'"{name}"' for name in names)
    return f"SELECT {columns} FROM {table.name} WHERE customer_id = %s", lambda _cursor: make


_PG_CUSTOMER, _CUSTOMER_ROW = _rows(_customers)
_PG_POLICIES, _POLICY_ROW = _rows(_policies)
_PG_IDENTITY = "SELECT customer_id, visits FROM identities WHERE visitor_id = %s"
_PG_VIEWS = (
    "SELECT properties FROM events WHERE {who} AND occurred_at >= %s AND type IN "
    f"({', '.join(repr(t) for t in VIEW_TYPES)}) ORDER BY occurred_at DESC LIMIT {MAX_EVENTS}"
)
_PG_CUSTOMER_VIEWS = _PG_VIEWS.format(who="customer_id = %s")
_PG_VISITOR_VIEWS = _PG_VIEWS.format(who="visitor_id = %s AND customer_id IS NULL")


def _load_pg(
    pg: Any, since: datetime, customer_id: str | None, visitor_id: str | None
) -> Person | None:
    """:func:`load_person` on PostgreSQL: the same statements in one pipeline, so one
    round trip instead of four (two for a visitor stitched to a customer)."""
    with pg.pipeline():
        asked = pg.execute(_PG_IDENTITY, (visitor_id,)) if visitor_id else None
        found = _pg_queries(pg, since, customer_id, visitor_id)
    identity = asked.fetchone() if asked is not None else None
    if customer_id is None and identity is not None and identity[0]:
        customer_id = identity[0]  # a visitor stitched to a customer: a second round trip
        with pg.pipeline():
            found = _pg_queries(pg, since, customer_id, visitor_id)
    customer, policies, views = found
    if customer_id is None:
        assert visitor_id is not None
        person = Person(f"v:{visitor_id}", None, visitor_id)
    else:
        row = customer.fetchone()
        if row is None:
            return None
        person = Person(customer_id, row, visitor_id, policies=policies.fetchall())
    person.visits = identity[1] if identity is not None else 0
    _count_views(person, views)
    return person


def _pg_queries(pg: Any, since: datetime, customer_id: str | None, visitor_id: str | None) -> Any:
    """Cursors for the customer, their policies and the recent views (in a pipeline)."""
    if customer_id is None:
        return None, None, pg.execute(_PG_VISITOR_VIEWS, (visitor_id, since))
    return (
        pg.cursor(row_factory=_CUSTOMER_ROW).execute(_PG_CUSTOMER, (customer_id,)),
        pg.cursor(row_factory=_POLICY_ROW).execute(_PG_POLICIES, (customer_id,)),
        pg.execute(_PG_CUSTOMER_VIEWS, (customer_id, since)),
    )
