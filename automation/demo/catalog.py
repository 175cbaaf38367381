"""The synthetic insurer's catalogue (seed 000: EduCare, children's CI, pension…) and names."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Product:
    """A product as the demo sells it (and writes it to ``products``)."""

    code: str
    name: str
    category: str
    tags: tuple[str, ...]
    is_new: bool = False
    md_pick: bool = False


PRODUCTS = (
    Product(
        "EDU-CARE", "교보 에듀케어 교육보험", "insurance", ("education-children",), md_pick=True
    ),
    Product(
        "CHILD-CI", "어린이 CI보험", "insurance", ("education-children", "health"), is_new=True
    ),
    Product(
        "PENSION-SAVINGS",
        "연금저축보험",
        "insurance",
        ("pension-savings", "retirement"),
        md_pick=True,
    ),
    Product("WHOLE-LIFE", "종신보험", "insurance", ("family", "protection")),
    Product("HEALTH-PLUS", "건강보험 플러스", "insurance", ("health",), is_new=True),
    Product("ACCIDENT", "상해보험", "insurance", ("protection", "leisure")),
    Product("POLICY-LOAN", "보험계약대출", "loan", ("loans",)),
    Product("HOME-LOAN", "주택담보대출", "loan", ("loans", "housing")),
)
BY_CODE = {p.code: p for p in PRODUCTS}
INSURANCE = tuple(p.code for p in PRODUCTS if p.category == "insurance")
CONTENT = (
    "education-children",
    "pension-savings",
    "health",
    "retirement",
    "loans",
    "family",
    "protection",
    "housing",
)
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서지현준우수영예도하윤성진혜은태경재원유나소연"
OCCUPATIONS = ("office", "public", "self-employed", "professional", "homemaker", "student")


def korean_name(rng: random.Random) -> str:
    """A plausible three-syllable Korean name."""
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def products_for(tags: dict[str, float]) -> dict[str, float]:
    """Product weights that follow content weights: a product gets the weight of its tags."""
    weights = {p.code: 0.02 + sum(tags.get(t, 0.0) for t in p.tags) for p in PRODUCTS}
    total = sum(weights.values())
    return {code: w / total for code, w in weights.items()}
