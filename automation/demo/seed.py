"""Seeding the synthetic insurer: products, members with consents, policies.

Consents come in the proportions a Korean insurer's member base has: most members
take e-mail, fewer SMS and calls, a quarter refuse advertising, and only a few allow
advertising at night. Advertising consents were given (or last re-confirmed) up to
about 26 months ago, so some have lapsed under the two-year rule and some lapse
during the replay. A third of members hold a policy; a share of those policies
mature inside the replay, so the retention journey has customers to work on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from automation.customers.tiers import local_day
from automation.customers.tiers import recompute as recompute_tiers
from automation.db import get_engine
from automation.db.sql import dialect_insert
from automation.demo import catalog
from automation.demo.catalog import INSURANCE, OCCUPATIONS, PRODUCTS, korean_name
from automation.demo.people import Person, make_person
from automation.models import Customer, Policy, Product

CONSENT = {"email": 0.86, "sms": 0.64, "call": 0.70, "ad": 0.76, "night": 0.06}
HOLDERS = 0.34  # members with a policy
SECOND_POLICY = 0.08  # of holders, a second policy (repeat customers)
MATURING = 0.45  # of holders, a policy maturing during (or just after) the replay
WORK_MAIL = 0.06  # addresses behind a company mail gateway that pre-fetches links
ANONYMOUS_SHARE = 0.4  # anonymous visitors per member


@dataclass(frozen=True, slots=True)
class Maturity:
    """A seeded policy that matures during the replay (for organic renewals)."""

    policy_id: str
    customer_id: str
    maturity_date: date


@dataclass
class Seeded:
    """What the replay needs to know about the seeded world."""

    people: list[Person]
    maturing: list[Maturity]
    work_mail: set[str]  # customer ids whose mail gateway scans links
    policy_products: dict[str, str]  # policy id → product code


def seed(rng: random.Random, members: int, start: datetime, days: int) -> Seeded:
    """Write products, members and their policies; return the people (anonymous too)."""
    as_of = start.date() + timedelta(days=days)
    people = [make_person(rng, i, True, as_of) for i in range(members)]
    anonymous = round(members * ANONYMOUS_SHARE)
    people += [make_person(rng, members + i, False, as_of) for i in range(anonymous)]
    customers: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    maturing: list[Maturity] = []
    work_mail: set[str] = set()
    for person in people:
        if person.customer_id is None:
            continue
        row = customer_row(rng, person, start - timedelta(days=rng.randint(40, 2400)), start)
        if rng.random() < WORK_MAIL:
            row["email"] = f"{person.customer_id.lower()}@corp.example.co.kr"
            work_mail.add(person.customer_id)
        customers.append(row)
        if rng.random() < HOLDERS:
            count = 2 if rng.random() < SECOND_POLICY else 1
            for n in range(count):
                policy = _policy(rng, person, n, start, days, maturing_now=n == 0)
                policies.append(policy)
                person.policies.append(policy["policy_id"])
                if policy["maturity_date"] <= as_of + timedelta(days=30):
                    maturing.append(
                        Maturity(policy["policy_id"], person.customer_id, policy["maturity_date"])
                    )
            row["lifecycle_stage"] = "repeat" if count == 2 else "customer"
            row["first_policy_at"] = _midnight(min(p["start_date"] for p in policies[-count:]))
    with get_engine().begin() as conn:
        _insert(conn, Product.__table__, [_product_row(p) for p in PRODUCTS])  # type: ignore[attr-defined]
        _insert(conn, Customer.__table__, customers)  # type: ignore[attr-defined]
        _insert(conn, Policy.__table__, policies)  # type: ignore[attr-defined]
    # Value tiers from the policies just written (no event announces them), as the daily
    # job would; about four in ten holders are VIP (mostly by premium).
    recompute_tiers(local_day(start))
    products = {p["policy_id"]: p["product_code"] for p in policies}
    return Seeded(people, maturing, work_mail, products)


def register_signups(rng: random.Random, people: list[Person], now: datetime) -> None:
    """The CRM's rows for visitors who just signed up, with the consents they gave on the
    form; the ``signup`` event that follows sets when they joined."""
    rows = []
    for person in people:
        row = customer_row(rng, person, now, now)
        row["joined_at"] = None
        row["last_seen_at"] = None
        rows.append(row)
    if rows:
        with get_engine().begin() as conn:
            _insert(conn, Customer.__table__, rows)  # type: ignore[attr-defined]


def customer_row(
    rng: random.Random, person: Person, joined: datetime, now: datetime
) -> dict[str, Any]:
    """The CRM's row for a member who joined at ``joined`` (consents given then)."""
    assert person.customer_id is not None
    granted = {kind: rng.random() < share for kind, share in CONSENT.items()}
    granted["night"] = granted["night"] and granted["ad"]
    # An advertising consent is re-confirmed from time to time; the last time is
    # somewhere between joining and now, at most ~26 months back.
    ad_at = max(joined, now - timedelta(days=rng.randint(0, 800)))
    row: dict[str, Any] = {
        "customer_id": person.customer_id,
        "name": korean_name(rng),
        "email": f"{person.customer_id.lower()}@example.kr",
        "mobile": f"010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        "birth_date": person.birth_date,
        "gender": rng.choice(["F", "M"]),
        "occupation": rng.choice(OCCUPATIONS),
        "has_children": person.has_children,
        "marital_status": "married" if person.has_children or rng.random() < 0.4 else "single",
        "timezone": "Asia/Seoul",
        "joined_at": joined,
        "last_seen_at": _last_seen(rng, person, now),
        "lifecycle_stage": "member",
        "first_policy_at": None,
        "attributes": {},
    }
    for kind, given in granted.items():
        row[f"{kind}_consent"] = given
        row[f"{kind}_consent_at"] = (ad_at if kind == "ad" else joined) if given else None
        row[f"{kind}_consent_source"] = "signup" if given else None
    return row


def _last_seen(rng: random.Random, person: Person, now: datetime) -> datetime:
    # Dormant members were last seen three to six months ago, so some fall dormant
    # (90 days) during the replay and the reactivation journey has work.
    days = rng.randint(75, 200) if person.dormant else rng.randint(1, 30)
    return now - timedelta(days=days, minutes=rng.randint(0, 1439))


def _policy(
    rng: random.Random, person: Person, n: int, start: datetime, days: int, maturing_now: bool
) -> dict[str, Any]:
    assert person.customer_id is not None
    if maturing_now and rng.random() < MATURING:
        # Maturities from a few days in to three weeks past the end: the notice
        # (20 days ahead) of all of them falls inside the replay.
        maturity = start.date() + timedelta(days=rng.randint(3, days + 20))
        began = maturity - timedelta(days=365 * rng.randint(5, 20))
    else:
        maturity = start.date() + timedelta(days=rng.randint(days + 60, 15 * 365))
        began = start.date() - timedelta(days=rng.randint(60, 12 * 365))
    likes = [c for c in person.favourites if c in INSURANCE][:3]
    product = rng.choice(likes) if likes and rng.random() < 0.7 else rng.choice(INSURANCE)
    return {
        "policy_id": f"P-{person.customer_id}-{n + 1}",
        "customer_id": person.customer_id,
        "product_code": product,
        "status": "active",
        "start_date": began,
        "maturity_date": maturity,
        "premium": rng.randint(3, 40) * 10_000,
        "attributes": {},
    }


def _product_row(p: catalog.Product) -> dict[str, Any]:
    return {
        "product_code": p.code,
        "name": p.name,
        "category": p.category,
        "content_tags": list(p.tags),
        "is_new": p.is_new,
        "md_pick": p.md_pick,
        "attributes": {},
    }


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(dialect_insert(conn, table).on_conflict_do_nothing(), rows)
