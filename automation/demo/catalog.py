"""The synthetic insurer's products and people (seed 000: EduCare, children's CI, pension…)."""

from __future__ import annotations

import random
from dataclasses import dataclass

PRODUCTS = [
    # code, name, category, content tags, new, MD pick
    ("EDU-CARE", "교보 에듀케어 교육보험", "insurance", ["education-children"], False, True),
    ("CHILD-CI", "어린이 CI보험", "insurance", ["education-children", "health"], True, False),
    (
        "PENSION-SAVINGS",
        "연금저축보험",
        "insurance",
        ["pension-savings", "retirement"],
        False,
        True,
    ),
    ("WHOLE-LIFE", "종신보험", "insurance", ["family", "protection"], False, False),
    ("HEALTH-PLUS", "건강보험 플러스", "insurance", ["health"], True, False),
    ("ACCIDENT", "상해보험", "insurance", ["protection", "leisure"], False, False),
    ("POLICY-LOAN", "보험계약대출", "loan", ["loans"], False, False),
    ("HOME-LOAN", "주택담보대출", "loan", ["loans", "housing"], False, False),
]
CONTENT = ["education-children", "pension-savings", "health", "retirement", "loans", "family"]
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서지현준우수영예도하윤성진혜은태경재원유나소연"
OCCUPATIONS = ["office", "public", "self-employed", "professional", "homemaker", "student"]
UTM_SOURCES = ["portal-banner", "search", "email", "direct", "direct", "direct"]


@dataclass(slots=True)
class Person:
    """A customer or visitor of the replay, with the behaviour of their group."""

    customer_id: str | None
    visitor_id: str
    age: int
    has_children: bool
    visits_per_week: float
    pages_per_visit: float
    interests: list[str]
    group: str


def korean_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def make_person(rng: random.Random, i: int, member: bool) -> Person:
    """One person; members aged 28–40 with children form the seed's table-2 group."""
    age = rng.randint(22, 65)
    children = 28 <= age <= 45 and rng.random() < 0.6
    table2 = member and 28 <= age <= 40 and children
    if table2:
        interests = ["education-children", "pension-savings"]
        visits, pages = 2.2, 2.6
    else:
        interests = rng.sample(CONTENT, 2)
        visits, pages = rng.uniform(0.3, 1.5), rng.uniform(1.5, 4.0)
    return Person(
        customer_id=f"C{i:06d}" if member else None,
        visitor_id=f"v{i:06d}",
        age=age,
        has_children=children,
        visits_per_week=visits,
        pages_per_visit=pages,
        interests=interests,
        group="table2" if table2 else ("member" if member else "anonymous"),
    )
