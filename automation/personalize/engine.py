"""``personalize``: one person's ranked items per slot, each with its reason and a
signed token (the seed's WEPA: "as if a sales agent were there").

A slot is filled in this order, without repeats: the rules' offers (in the rules'
order), then the person's own interests, then what is popular with their group, new
and MD-picked; a product the customer holds is never offered. A configurable share of
people (``holdout`` in the rules, by a hash of who they are, so the same person always
lands on the same side) gets the default content instead, so uplift is measurable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from automation import clock
from automation.conditions.times import business_tz
from automation.db import get_engine, session_scope
from automation.personalize import items, shelf, store, tokens
from automation.personalize.people import Person, load_person
from automation.personalize.rules import DEFAULT_HOLDOUT, SLOTS

PER_SLOT = {"hero": 3, "side": 3, "banner": 3, "content": 5}


@dataclass(frozen=True)
class Personalized:
    """The answer for one person."""

    person: dict[str, Any]
    holdout: bool
    rules_version: int
    slots: dict[str, list[dict[str, Any]]]


class UnknownCustomer(LookupError):
    """A customer id that names no customer."""


def in_holdout(person_key: str, percent: int) -> bool:
    """Whether ``person_key`` gets the default content (stable per person)."""
    digest = hashlib.sha256(f"personalize:{person_key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def personalize(
    *,
    customer_id: str | None = None,
    visitor_id: str | None = None,
    slots: tuple[str, ...] = SLOTS,
    page: str | None = None,
    now: datetime | None = None,
) -> Personalized:
    """The items for a known customer or an anonymous visitor (one of the two ids).

    Raises:
        UnknownCustomer: ``customer_id`` names no customer.
    """
    at = now or clock.now()
    version, rules = store.in_force()
    stock = shelf.current()
    with _reading() as session:
        person = load_person(session, at, customer_id=customer_id, visitor_id=visitor_id)
        if person is None:
            raise UnknownCustomer(f"no customer {customer_id!r}")
        holdout = in_holdout(person.key, rules.holdout if rules else DEFAULT_HOLDOUT)
        if holdout:
            found = list(items.defaults(stock, anonymous=not person.known, holdout=True))
        else:
            # Offers first: a product they lead with is not spent on the "new since your
            # last visit" banner (each product appears once).
            found = [
                *items.from_rules(rules, person, stock, session, at),
                *items.revenue(person, stock, at.astimezone(business_tz()).date()),
                *items.relationship(person, stock, at),
                *items.defaults(stock, anonymous=not person.known, holdout=False),
            ]
        answer = _rank(found, person, slots, holdout, at, page)
        return Personalized(_who(person), holdout, version, answer)


@contextmanager
def _reading() -> Iterator[Session]:
    """A session that only reads. On PostgreSQL its statements run without a transaction
    of their own: no BEGIN and COMMIT round trips around three small look-ups."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        with session_scope() as session:
            yield session
        return
    with engine.connect() as conn:
        bound = conn.execution_options(isolation_level="AUTOCOMMIT")
        with Session(bind=bound) as session:
            yield session


def _rank(
    found: list[items.Candidate],
    person: Person,
    slots: tuple[str, ...],
    holdout: bool,
    at: datetime,
    page: str | None,
) -> dict[str, list[dict[str, Any]]]:
    held = person.held
    filled: dict[str, list[dict[str, Any]]] = {slot: [] for slot in slots}
    used: set[tuple[str, str]] = set()
    for c in found:
        if c.slot not in filled or len(filled[c.slot]) >= PER_SLOT[c.slot]:
            continue
        # A product is one thing whether offered or announced as new.
        ident = ("product", c.key) if c.kind in ("product", "new") else (c.kind, c.key)
        if ident in used or (ident[0] == "product" and c.key in held):
            continue
        if c.kind == "greeting" and any(k == "greeting" for k, _ in used):
            continue  # one greeting: the personal one, not the default after it
        if page and c.url and c.url == page:
            continue  # not the page they are on
        used.add(ident)
        token = tokens.sign(
            tokens.OfferToken(c.rule, c.kind, c.key, c.slot, holdout, person.key, at)
        )
        filled[c.slot].append(
            {
                "kind": c.kind,
                "key": c.key,
                "name": c.name,
                "text": c.text,
                "url": c.url,
                "reason": c.reason,
                "rule": c.rule,
                "token": token,
            }
        )
    return filled


def _who(person: Person) -> dict[str, Any]:
    if person.customer is None:
        return {
            "known": False,
            "visitor_id": person.visitor_id,
            "visits": person.visits,
            "page_views_30d": person.page_views,
        }
    return {
        "known": True,
        "customer_id": person.customer.customer_id,
        "name": person.customer.name,
        "lifecycle_stage": person.customer.lifecycle_stage,
        "page_views_30d": person.page_views,
    }
