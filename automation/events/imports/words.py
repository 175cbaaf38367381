"""The canonical words of the customer fields that conditions compare: gender,
occupation, marital status and value tier.

Conditions compare exactly (``customer.occupation: office``), so each field keeps one
vocabulary, the one the demo seeds and ``docs/conditions.md`` lists. An import may
also use the Korean words a CRM export carries (여/남, 회사원, 기혼 …), or any case;
they are stored as the canonical word. A word outside the vocabulary is kept as given
(an occupation the list lacks is still an occupation), except for the value tier,
which has only its own words.
"""

from __future__ import annotations

GENDERS: dict[str, tuple[str, ...]] = {
    "F": ("f", "female", "woman", "여", "여성", "여자"),
    "M": ("m", "male", "man", "남", "남성", "남자"),
}
OCCUPATIONS: dict[str, tuple[str, ...]] = {
    "office": ("office", "office worker", "회사원", "직장인", "사무직"),
    "public": ("public", "civil servant", "공무원"),
    "self-employed": ("self-employed", "자영업", "자영업자"),
    "professional": ("professional", "전문직"),
    "homemaker": ("homemaker", "주부", "전업주부"),
    "student": ("student", "학생", "대학생"),
}
MARITAL_STATUSES: dict[str, tuple[str, ...]] = {
    "single": ("single", "미혼"),
    "married": ("married", "기혼"),
}
# An imported tier is an override; AUTO clears it (the computed tier applies again).
AUTO = "auto"
TIERS: dict[str, tuple[str, ...]] = {
    "vip": ("vip", "우수"),
    "regular": ("regular", "일반"),
    AUTO: (AUTO, "자동"),
}


def _index(vocabulary: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {
        word.casefold(): canonical
        for canonical, words in vocabulary.items()
        for word in (canonical, *words)
    }


_LOOKUP = {
    id(vocabulary): _index(vocabulary)
    for vocabulary in (GENDERS, OCCUPATIONS, MARITAL_STATUSES, TIERS)
}


def canonical(vocabulary: dict[str, tuple[str, ...]], word: str) -> str | None:
    """The canonical word for ``word`` (any case, Korean or English), or None."""
    return _LOOKUP[id(vocabulary)].get(" ".join(word.split()).casefold())
