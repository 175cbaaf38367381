"""The demo's people and the web behaviour model of their group.

Behaviour follows demographics, as the seed's tables 1 and 2 describe them: people
aged 28–40 with children (the *table-2 group*) visit about 2.2 times a week, see
about 25 pages a month and prefer education/children content, then pension savings;
EduCare, then children's CI insurance; insurance, then loans. Everyone else gets a
random pair of interests and a lighter habit. Whether someone is a member only
decides whether they log in and get messages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from automation.demo.catalog import BY_CODE, CONTENT, products_for

TABLE2_AGES = (28, 40)
TABLE2_VISITS_PER_WEEK = 2.2
TABLE2_PAGE_VIEWS_PER_30_DAYS = 25.0
# 25 pages a month over 2.2 × 30/7 visits a month: pages per visit.
TABLE2_PAGES_PER_VISIT = TABLE2_PAGE_VIEWS_PER_30_DAYS / (TABLE2_VISITS_PER_WEEK * 30 / 7)
TABLE2_CONTENT = {
    "education-children": 0.50,
    "pension-savings": 0.24,
    "health": 0.10,
    "family": 0.08,
    "loans": 0.08,
}
TABLE2_PRODUCTS = {
    "EDU-CARE": 0.38,
    "CHILD-CI": 0.27,
    "PENSION-SAVINGS": 0.12,
    "POLICY-LOAN": 0.07,
    "HOME-LOAN": 0.05,
    "HEALTH-PLUS": 0.05,
    "WHOLE-LIFE": 0.04,
    "ACCIDENT": 0.02,
}
# The table-2 condition in the condition language (docs/conditions.md).
TABLE2_CONDITION = {
    "customer.age": {"between": list(TABLE2_AGES)},
    "customer.has_children": True,
}


@dataclass(slots=True)
class Person:
    """A member or an anonymous visitor of the replay."""

    number: int
    visitor_id: str
    customer_id: str | None  # None until an anonymous visitor signs up
    birth_date: date
    has_children: bool
    group: str  # table2 | other
    visits_per_week: float
    pages_per_visit: float
    content: dict[str, float]  # content tag → share of content pages
    products: dict[str, float]  # product code → share of product pages
    dormant: bool = False  # a member who stopped visiting before the replay
    joined: bool = False  # signed up during the replay
    policies: list[str] = field(default_factory=list)  # policy ids held

    @property
    def favourites(self) -> list[str]:
        """Product codes, most viewed first."""
        return sorted(self.products, key=lambda c: (-self.products[c], c))

    def fit(self, product: str | None) -> float:
        """How well an offer of ``product`` suits this person: 1 for one of their two
        favourites, 0.5 for a product of a content they read, 0.15 otherwise, 0.4 for
        a message that offers nothing in particular."""
        if product is None or product not in BY_CODE:
            return 0.4
        if product in self.favourites[:2]:
            return 1.0
        if any(self.content.get(tag, 0) >= 0.1 for tag in BY_CODE[product].tags):
            return 0.5
        return 0.15


def age_on(birth: date, day: date) -> int:
    """Whole years from ``birth`` to ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def make_person(rng: random.Random, number: int, member: bool, as_of: date) -> Person:
    """One person; their group is decided by their age on ``as_of`` (the replay's last
    day, when the group's web-log figures are read) and their children."""
    birth = as_of - timedelta(days=rng.randint(22 * 365, 66 * 365))
    age = age_on(birth, as_of)
    children = 27 <= age <= 50 and rng.random() < 0.65
    visitor = f"v{number:06d}"
    customer = f"C{number:06d}" if member else None
    if TABLE2_AGES[0] <= age <= TABLE2_AGES[1] and children:
        return Person(
            number,
            visitor,
            customer,
            birth,
            children,
            "table2",
            TABLE2_VISITS_PER_WEEK,
            TABLE2_PAGES_PER_VISIT,
            dict(TABLE2_CONTENT),
            dict(TABLE2_PRODUCTS),
        )
    first, second = rng.sample(CONTENT, 2)
    content = {first: 0.6, second: 0.3}
    for tag in CONTENT:
        content[tag] = content.get(tag, 0.0) + 0.1 / len(CONTENT)
    return Person(
        number,
        visitor,
        customer,
        birth,
        children,
        "other",
        rng.uniform(0.15, 0.75) if member else rng.uniform(0.2, 0.7),
        rng.uniform(1.3, 2.8),
        content,
        products_for(content),
        dormant=member and rng.random() < 0.08,
    )
