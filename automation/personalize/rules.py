"""The offer rules marketing ops write (seed 000's Kookmin Bank pattern: "unmarried, in
their twenties → product X first, then Y"), validated with every problem as
``FILE:LINE: reason``::

    holdout: 10                       # % of visitors who get the default content
    rules:                            # in order: the first rules fill a slot first
      - rule: single-twenties
        name: 미혼 20대 → 연금저축 먼저, 그다음 상해보험
        audience: known               # known (default), anonymous or everyone
        when: {customer.marital_status: single, customer.age: {between: [20, 29]}}
        slot: hero
        offers:
          - product: PENSION-SAVINGS
            text: 사회 초년생의 첫 노후 준비
          - product: ACCIDENT
          - offer: consultation       # not a product: a call to action with its link
            text: 전문 상담 신청하기
            url: /consultation

``when`` is the one condition language (``docs/conditions.md``), over the customer
(no ``event.*``); a rule for ``anonymous`` visitors has no customer, so no ``when``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automation.conditions import Condition, ConditionError, compile_condition
from automation.errors import ValidationError
from automation.journeys import yamlmap

LIBRARY = Path(__file__).parent / "library"
SLOTS = ("hero", "side", "banner", "content")
AUDIENCES = ("known", "anonymous", "everyone")
KINDS = ("product", "content", "offer")
_ID = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_RULE_KEYS = ("rule", "name", "audience", "when", "slot", "offers")
_ITEM_KEYS = (*KINDS, "text", "url")
DEFAULT_HOLDOUT = 10


class OfferRulesError(ValidationError):
    """Every problem of an offer-rules file, one ``FILE:LINE: reason`` per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class OfferItem:
    """One thing a rule offers: a product, a content or a call to action."""

    kind: str  # product | content | offer
    key: str
    text: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Rule:
    """One rule: who it is for, the slot it fills, its items in order."""

    rule_id: str
    name: str
    audience: str
    condition: Condition | None
    slot: str
    items: tuple[OfferItem, ...]


@dataclass(frozen=True)
class OfferRules:
    """A validated rules file."""

    holdout: int  # percent
    rules: tuple[Rule, ...]
    source: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()


def builtin_file() -> Path:
    """The rules the product ships."""
    return LIBRARY / "offers.yaml"


def load_text(text: str, filename: str = "offers.yaml") -> OfferRules:
    """Validate an offer-rules file; raises :class:`OfferRulesError`."""
    try:
        data, lines = yamlmap.load(text)
    except yamlmap.YamlError as exc:
        raise OfferRulesError([f"{filename}:{exc.line}: {exc}"]) from None
    problems: list[str] = []

    def fail(where: yamlmap.Path, why: str) -> None:
        problems.append(f"{filename}:{yamlmap.line_of(lines, where)}: {why}")

    if not isinstance(data, dict):
        raise OfferRulesError([f"{filename}:1: a mapping with holdout and rules"])
    for key in data:
        if key not in ("holdout", "rules"):
            fail((key,), f"unknown key '{key}': the file has holdout and rules")
    holdout = data.get("holdout", DEFAULT_HOLDOUT)
    if not isinstance(holdout, int) or isinstance(holdout, bool) or not 0 <= holdout <= 50:
        fail(("holdout",), "holdout: a whole percentage from 0 to 50")
        holdout = DEFAULT_HOLDOUT
    items = data.get("rules")
    if not isinstance(items, list) or not items:
        fail(("rules",), "rules: a list of rules")
        items = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        rule = _rule(item, ("rules", i), fail)
        if rule is None:
            continue
        if rule.rule_id in seen:
            fail(("rules", i, "rule"), f"rule '{rule.rule_id}' is defined twice")
        seen.add(rule.rule_id)
        rules.append(rule)
    if problems:
        raise OfferRulesError(problems)
    return OfferRules(holdout, tuple(rules), text)


def _rule(item: Any, at: yamlmap.Path, fail: Any) -> Rule | None:
    if not isinstance(item, dict):
        fail(at, "a rule is a mapping with rule, slot and offers")
        return None
    for key in item:
        if key not in _RULE_KEYS:
            fail((*at, key), f"unknown key '{key}': a rule has {', '.join(_RULE_KEYS)}")
    rule_id = item.get("rule")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        fail((*at, "rule"), "rule: an id of lowercase letters, digits, - and _")
        return None
    audience = item.get("audience", "known")
    if audience not in AUDIENCES:
        fail((*at, "audience"), f"audience: one of {', '.join(AUDIENCES)}")
        return None
    slot = item.get("slot", "hero")
    if slot not in SLOTS:
        fail((*at, "slot"), f"slot: one of {', '.join(SLOTS)}")
        return None
    condition = None
    when = item.get("when")
    if when is not None:
        if audience == "anonymous":
            fail((*at, "when"), "an anonymous visitor has no customer record: no when")
            return None
        try:
            condition = compile_condition(when, allow_event=False)
        except ConditionError as exc:
            fail((*at, "when", *exc.path), exc.reason)
            return None
    offers = item.get("offers")
    if not isinstance(offers, list) or not offers:
        fail((*at, "offers"), "offers: a list of products, contents or offers, in order")
        return None
    parsed = [_item(o, (*at, "offers", j), fail) for j, o in enumerate(offers)]
    if any(p is None for p in parsed):
        return None
    return Rule(
        rule_id,
        str(item.get("name") or rule_id),
        audience,
        condition,
        slot,
        tuple(p for p in parsed if p is not None),
    )


def _item(item: Any, at: yamlmap.Path, fail: Any) -> OfferItem | None:
    if not isinstance(item, dict):
        fail(at, "an offer is a mapping: product, content or offer, with text and url")
        return None
    for key in item:
        if key not in _ITEM_KEYS:
            fail((*at, key), f"unknown key '{key}': an offer has {', '.join(_ITEM_KEYS)}")
            return None
    kinds = [k for k in KINDS if k in item]
    if len(kinds) != 1:
        fail(at, "an offer names one of product, content or offer")
        return None
    kind = kinds[0]
    key = item[kind]
    if not isinstance(key, str) or not key or len(key) > 64:
        fail((*at, kind), f"{kind}: a code of 1 to 64 characters")
        return None
    url = item.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("/", "https://"))):
        fail((*at, "url"), "url: a path on the site (/…) or an https:// address")
        return None
    if kind == "offer" and url is None:
        fail(at, "an offer (a call to action) needs its url")
        return None
    text = item.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > 200):
        fail((*at, "text"), "text: at most 200 characters")
        return None
    return OfferItem(kind, key, text, url)
