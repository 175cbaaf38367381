"""The personalize bench's set-up: a synthetic insurer filled with ``COPY``.

- customers ``P0000000``…: gender, birth dates over 60 years, marital status, children
  (so the built-in rules' conditions fall both ways), joined over 10 years;
- the demo catalogue's products (``automation.demo.catalog.PRODUCTS``);
- policies for a third of the customers (1–2 each, started over the last 3 years,
  one in 50 maturing within 60 days: the ``maturing-soon`` rule);
- ``events`` page, product and content views over the last 30 days (processed), two
  thirds by customers and a third by anonymous visitors ``a0000000``…, one in five
  customers' and visitors' browsing; identities for those visitors.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from _common import PgBare

from automation.demo.catalog import CONTENT, PRODUCTS

SEED = 20240531
PAGE = 50_000  # rows per COPY transaction
EVENT_DAYS = 30
CUSTOMER_COLUMNS = (
    "customer_id", "name", "birth_date", "gender", "marital_status", "has_children",
    "email_consent", "sms_consent", "call_consent", "ad_consent", "night_consent", "locale",
    "timezone", "lifecycle_stage", "value_tier", "activity_status", "joined_at",
    "last_seen_at", "attributes", "created_at", "updated_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "event_id", "type", "occurred_at", "received_at", "visitor_id", "customer_id",
    "properties", "source", "published_at", "processed_at", "attempts",
)  # fmt: skip
POLICY_COLUMNS = (
    "policy_id", "customer_id", "product_code", "status", "start_date", "maturity_date",
    "premium", "attributes", "updated_at",
)  # fmt: skip
PAGES = ("/", "/products", "/content", "/consultation", "/mypage")


def customer_id(i: int) -> str:
    return f"P{i:07d}"


def visitor_id(i: int) -> str:
    return f"a{i:07d}"


@dataclass
class World:
    """Who exists: the customers and anonymous visitors the load asks for."""

    now: datetime
    customers: int
    visitors: int  # anonymous visitors with history
    browsing: list[int] = field(default_factory=list)  # customers with recent views


def fill(bare: PgBare, now: datetime, customers: int, events: int) -> World:
    """Every table the bench reads, as described above; ``ANALYZE`` at the end."""
    world = World(now, customers, max(1, customers // 5))
    rng = random.Random(SEED)
    with bare.transaction():
        bare.copy(
            "products",
            ("product_code", "name", "category", "content_tags", "is_new", "md_pick",
             "attributes", "updated_at"),
            ((p.code, p.name, p.category, orjson.dumps(list(p.tags)).decode(), p.is_new,
              p.md_pick, "{}", now) for p in PRODUCTS),
        )  # fmt: skip
    for start in range(0, customers, PAGE):
        with bare.transaction():
            bare.copy("customers", CUSTOMER_COLUMNS, _customers(rng, now, start, customers))
            bare.copy("policies", POLICY_COLUMNS, _policies(rng, now, start, customers))
    world.browsing = rng.sample(range(customers), max(1, customers // 5))
    for start in range(0, events, PAGE):
        with bare.transaction():
            bare.copy(
                "events", EVENT_COLUMNS, _events(rng, world, start, min(events, start + PAGE))
            )
    with bare.transaction():
        bare.copy(
            "identities",
            ("visitor_id", "first_seen_at", "last_seen_at", "visits"),
            (
                (visitor_id(i), now - timedelta(days=EVENT_DAYS), now, 1 + rng.randrange(12))
                for i in range(world.visitors)
            ),
        )
    bare.run("ANALYZE")
    return world


def _customers(rng: random.Random, now: datetime, start: int, n: int) -> Iterator[tuple[Any, ...]]:
    first_birth = date(1950, 1, 1)
    for i in range(start, min(n, start + PAGE)):
        r = rng.random
        born = first_birth + timedelta(days=rng.randrange(60 * 365))
        joined = now - timedelta(seconds=r() * 10 * 365 * 86_400)
        children = True if r() < 0.45 else (False if r() < 0.9 else None)
        yield (
            customer_id(i), f"고객{i}", born, "F" if i % 2 else "M",
            "single" if r() < 0.4 else "married", children, r() < 0.7, r() < 0.6, r() < 0.3,
            r() < 0.4, r() < 0.1, "ko-KR", "Asia/Seoul", "customer" if r() < 0.5 else "member",
            "regular", "active", joined, now - timedelta(days=rng.randrange(60)), "{}",
            joined, joined,
        )  # fmt: skip


def _policies(rng: random.Random, now: datetime, start: int, n: int) -> Iterator[tuple[Any, ...]]:
    today = now.date()
    for i in range(start, min(n, start + PAGE)):
        if i % 3:
            continue
        for k in range(1 + rng.randrange(2)):
            product = PRODUCTS[rng.randrange(6)]  # the insurance products
            started = today - timedelta(days=rng.randrange(3 * 365))
            soon = rng.random() < 0.02
            matures = today + timedelta(days=rng.randrange(1, 60) if soon else 3650)
            yield (
                f"{customer_id(i)}-{k}", customer_id(i), product.code, "active", started,
                matures, 50_000 + rng.randrange(200_000), "{}", now,
            )  # fmt: skip


def _events(rng: random.Random, world: World, start: int, stop: int) -> Iterator[tuple[Any, ...]]:
    now = world.now
    for i in range(start, stop):
        at = now - timedelta(seconds=rng.random() * EVENT_DAYS * 86_400)
        if rng.random() < 2 / 3:
            k = world.browsing[rng.randrange(len(world.browsing))]
            visitor, customer = f"v-{customer_id(k)}", customer_id(k)
        else:
            visitor, customer = visitor_id(rng.randrange(world.visitors)), None
        roll = rng.random()
        if roll < 0.4:
            kind, props = "page_view", {"url": PAGES[rng.randrange(len(PAGES))]}
        elif roll < 0.7:
            product = PRODUCTS[rng.randrange(len(PRODUCTS))]
            props = {"product": product.code, "category": product.category}
            kind, props = "product_view", props | {"url": f"/products/{product.code}"}
        else:
            tag = CONTENT[rng.randrange(len(CONTENT))]
            kind, props = "content_view", {"content": tag, "url": f"/content/{tag}"}
        got = at + timedelta(milliseconds=200)
        yield (
            f"pe{i:09d}", kind, at, got, visitor, customer, orjson.dumps(props).decode(),
            "bench", got, got, 1,
        )  # fmt: skip
