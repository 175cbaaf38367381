"""What personalization offers from, kept in memory and read again every few minutes:
the product catalogue, which products each gender and age band bought in the last
year, and the content read most in the last 30 days. A request then needs no query for
any of it."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from automation import clock
from automation.db import get_engine
from automation.models import Customer, Event, Policy, Product

REFRESH_SECONDS = 300.0
POPULAR_DAYS = 365
CONTENT_DAYS = 30
_products = Product.__table__  # type: ignore[attr-defined]
_policies = Policy.__table__  # type: ignore[attr-defined]
_customers = Customer.__table__  # type: ignore[attr-defined]
_events = Event.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Item:
    """A product as an offer shows it."""

    code: str
    name: str
    category: str
    tags: tuple[str, ...]
    is_new: bool
    md_pick: bool


@dataclass
class Shelf:
    """The catalogue and what is popular, as of ``loaded_at`` (monotonic seconds)."""

    products: dict[str, Item] = field(default_factory=dict)
    by_tag: dict[str, list[str]] = field(default_factory=dict)  # content tag → products
    by_category: dict[str, list[str]] = field(default_factory=dict)
    popular: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (gender, band)
    popular_all: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)  # most read first
    loaded_at: float = 0.0


def age_band(born: date | None, today: date) -> int | None:
    """20 for someone aged 20 to 29 (None without a birth date)."""
    if born is None:
        return None
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return max(0, age // 10 * 10)


def current() -> Shelf:
    """The shelf, loaded again when it is older than :data:`REFRESH_SECONDS`."""
    shelf = _held.shelf
    if time.monotonic() - shelf.loaded_at < REFRESH_SECONDS:
        return shelf
    with _held.lock:
        if time.monotonic() - _held.shelf.loaded_at >= REFRESH_SECONDS:
            _held.shelf = _load()
    return _held.shelf


def forget() -> None:
    """Load again at the next request (after an import, or between tests)."""
    with _held.lock:
        _held.shelf = Shelf()


def _load() -> Shelf:
    shelf = Shelf(loaded_at=time.monotonic())
    now = clock.now()
    today = clock.local().date()
    with get_engine().connect() as conn:
        for row in conn.execute(select(_products).order_by(_products.c.product_code)):
            item = Item(
                row.product_code,
                row.name,
                row.category,
                tuple(row.content_tags or ()),
                bool(row.is_new),
                bool(row.md_pick),
            )
            shelf.products[item.code] = item
            shelf.by_category.setdefault(item.category, []).append(item.code)
            for tag in item.tags:
                shelf.by_tag.setdefault(tag, []).append(item.code)
        since = (now - timedelta(days=POPULAR_DAYS)).date()
        bought = conn.execute(
            select(
                _customers.c.gender,
                _customers.c.birth_date,
                _policies.c.product_code,
            )
            .join(_customers, _customers.c.customer_id == _policies.c.customer_id)
            .where(_policies.c.start_date >= since, _policies.c.product_code.is_not(None))
        )
        counts: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
        overall: Counter[str] = Counter()
        for gender, born, code in bought:
            overall[code] += 1
            band = age_band(born, today)
            if gender and band is not None:
                counts[(str(gender).upper()[:1], band)][code] += 1
        shelf.popular = {k: [c for c, _ in v.most_common()] for k, v in counts.items()}
        shelf.popular_all = [c for c, _ in overall.most_common()]
        content = _events.c.properties["content"].as_string()
        read = conn.execute(
            select(content, func.count())
            .where(
                _events.c.type == "content_view",
                _events.c.occurred_at >= now - timedelta(days=CONTENT_DAYS),
                content.is_not(None),
            )
            .group_by(content)
            .order_by(func.count().desc())
            .limit(20)
        )
        shelf.content = [str(key) for key, _ in read]
    return shelf


@dataclass
class _Held:
    shelf: Shelf = field(default_factory=Shelf)
    lock: threading.Lock = field(default_factory=threading.Lock)


_held = _Held()
