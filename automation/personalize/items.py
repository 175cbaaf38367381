"""The candidate items for one person, each with the reason a marketer can read:
relationship (greeting, anniversaries, thanks to a new member, what is new since the
last visit) and revenue (the rules' offers, products by what the person reads,
popular with their gender and age band, new products, MD picks, content)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from automation.conditions.facts import Facts
from automation.conditions.times import celebrated_on
from automation.personalize.people import RECENT_DAYS, Person
from automation.personalize.rules import OfferRules
from automation.personalize.shelf import Shelf, age_band

NEW_MEMBER_DAYS = 7
GENDER_WORDS = {"F": "여성", "M": "남성"}


@dataclass(frozen=True)
class Candidate:
    """One item before ranking: where it goes and why."""

    slot: str
    kind: str  # greeting, anniversary, welcome, new, product, content, offer
    key: str
    text: str
    reason: str
    rule: str  # the rule id, or what made it (preference, popular, new, md_pick …)
    url: str | None = None
    name: str | None = None


def relationship(person: Person, shelf: Shelf, now: datetime) -> Iterator[Candidate]:
    """Greeting, anniversaries, thanks to a new member, new since the last visit."""
    customer = person.customer
    if customer is None:
        returning = person.visits > 1
        text = "다시 오신 것을 환영합니다" if returning else "교보생명에 오신 것을 환영합니다"
        why = f"returning visitor ({person.visits} visits)" if returning else "first visit"
        yield Candidate("banner", "greeting", "visitor", text, why, "greeting")
        return
    zone = _zone(customer.timezone)
    local = now.astimezone(zone)
    name = customer.name or "고객"
    part = _part_of_day(local.hour)
    yield Candidate(
        "banner",
        "greeting",
        part[0],
        f"{name}님, {part[1]}",
        f"known customer; {local:%H:%M} in {zone.key}",
        "greeting",
    )
    today = local.date()
    pairs = celebrated_on(today)
    if customer.birth_date and (customer.birth_date.month, customer.birth_date.day) in pairs:
        yield Candidate(
            "banner",
            "anniversary",
            "birthday",
            f"{name}님, 생일을 축하드립니다!",
            f"birthday today ({today.isoformat()}, {zone.key})",
            "anniversary",
        )
    for policy in person.policies:
        start = policy.start_date
        if policy.status == "active" and start and (start.month, start.day) in pairs:
            years = today.year - start.year
            if years > 0:
                yield Candidate(
                    "banner",
                    "anniversary",
                    f"policy:{policy.policy_id}",
                    f"함께한 지 {years}년, 감사합니다",
                    f"policy {policy.policy_id} anniversary ({years} years)",
                    "anniversary",
                )
    joined = customer.joined_at.astimezone(zone).date() if customer.joined_at else None
    if joined and joined < today and (joined.month, joined.day) in pairs:
        yield Candidate(
            "banner",
            "anniversary",
            "signup",
            f"회원 가입 {today.year - joined.year}주년입니다",
            "sign-up anniversary",
            "anniversary",
        )
    if joined and (today - joined).days < NEW_MEMBER_DAYS:
        yield Candidate(
            "banner",
            "welcome",
            "new-member",
            "회원이 되어 주셔서 감사합니다",
            f"new member since {joined.isoformat()}",
            "welcome",
        )
    last = customer.last_seen_at
    for item in shelf.products.values():
        if item.is_new and item.code not in person.held and last is not None:
            yield Candidate(
                "banner",
                "new",
                item.code,
                f"지난 방문 이후 새로 나온 {item.name}",
                "new product since the last visit",
                "new",
                f"/products/{item.code}",
                item.name,
            )
            break


def from_rules(
    rules: OfferRules | None, person: Person, shelf: Shelf, session: Session, now: datetime
) -> Iterator[Candidate]:
    """The offers of every rule that applies to ``person``, in the rules' order."""
    if rules is None:
        return
    facts = (
        Facts(person.customer, now, session=session, policies=person.policies)
        if person.customer is not None
        else None
    )
    for rule in rules.rules:
        if rule.audience == "known" and facts is None:
            continue
        if rule.audience == "anonymous" and facts is not None:
            continue
        if rule.condition is not None and (facts is None or not rule.condition.matches(facts)):
            continue
        for item in rule.items:
            name = None
            url = item.url
            if item.kind == "product":
                product = shelf.products.get(item.key)
                if product is None:
                    continue  # a product the catalogue does not (yet) have
                name, url = product.name, url or f"/products/{item.key}"
            elif item.kind == "content":
                url = url or f"/content/{item.key}"
            yield Candidate(
                rule.slot,
                item.kind,
                item.key,
                item.text or name or item.key,
                f"rule {rule.rule_id}: {rule.name}",
                rule.rule_id,
                url,
                name,
            )


def revenue(person: Person, shelf: Shelf, today: date) -> Iterator[Candidate]:
    """Products by what the person reads, popular with their group, new, MD picks;
    then content to read."""
    for tag, views in person.content.most_common(3):
        for code in shelf.by_tag.get(tag, ()):
            yield _product(
                shelf,
                code,
                "hero",
                f"viewed {tag} content {views}× in {RECENT_DAYS} days",
                "preference",
            )
    for category, views in person.categories.most_common(2):
        for code in shelf.by_category.get(category, ()):
            yield _product(
                shelf,
                code,
                "hero",
                f"viewed {category} pages {views}× in {RECENT_DAYS} days",
                "preference",
            )
    for code, views in person.products.most_common(3):
        if code in shelf.products:
            yield _product(
                shelf, code, "hero", f"looked at it {views}× in {RECENT_DAYS} days", "preference"
            )
    customer = person.customer
    if customer is not None and customer.gender and customer.birth_date:
        gender = str(customer.gender).upper()[:1]
        band = age_band(customer.birth_date, today)
        if band is not None:
            group = f"{band}대 {GENDER_WORDS.get(gender, gender)}"
            for code in [c for c in shelf.popular.get((gender, band), []) if c in shelf.products][
                :3
            ]:
                yield _product(
                    shelf,
                    code,
                    "side",
                    f"popular with {group} ({_english(gender, band)})",
                    "popular",
                )
    for code in [c for c in shelf.popular_all if c in shelf.products][:2]:
        yield _product(shelf, code, "side", "popular this year", "popular")
    for item in shelf.products.values():
        if item.is_new:
            yield _product(shelf, item.code, "side", "new product", "new")
    for item in shelf.products.values():
        if item.md_pick:
            yield _product(shelf, item.code, "side", "MD pick", "md_pick")
    read = set(person.content)
    for tag, views in person.content.most_common(2):
        yield Candidate(
            "content",
            "content",
            tag,
            tag,
            f"you read it {views}× in {RECENT_DAYS} days",
            "preference",
            f"/content/{tag}",
        )
    for key in shelf.content:
        if key not in read:
            yield Candidate(
                "content",
                "content",
                key,
                key,
                f"most read in the last {RECENT_DAYS} days",
                "popular",
                f"/content/{key}",
            )


def defaults(shelf: Shelf, anonymous: bool, holdout: bool) -> Iterator[Candidate]:
    """What the holdout sees (the same for everyone), and what fills a slot after
    everything personal for anyone else (then without the holdout's label)."""
    said = "default content: " if holdout else ""
    yield Candidate(
        "banner",
        "greeting",
        "default",
        "교보생명에 오신 것을 환영합니다",
        f"{said}welcome".strip(),
        "default",
    )
    for item in shelf.products.values():
        if item.md_pick:
            yield _product(shelf, item.code, "hero", f"{said}MD pick", "md_pick")
    for item in shelf.products.values():
        if item.is_new:
            yield _product(shelf, item.code, "side", f"{said}new product", "new")
    for key in shelf.content[:5]:
        yield Candidate(
            "content", "content", key, key, f"{said}most read", "popular", f"/content/{key}"
        )
    if anonymous:
        yield Candidate(
            "side",
            "offer",
            "signup",
            "회원가입하고 맞춤 보장 분석 받기",
            f"{said}sign-up",
            "default",
            "/signup",
        )


def _product(shelf: Shelf, code: str, slot: str, reason: str, rule: str) -> Candidate:
    item = shelf.products[code]
    return Candidate(slot, "product", code, item.name, reason, rule, f"/products/{code}", item.name)


def _english(gender: str, band: int) -> str:
    return f"{'women' if gender == 'F' else 'men' if gender == 'M' else gender} in their {band}s"


def _part_of_day(hour: int) -> tuple[str, str]:
    if 5 <= hour < 12:
        return "morning", "좋은 아침입니다"
    if 12 <= hour < 18:
        return "afternoon", "좋은 오후입니다"
    return "evening", "편안한 저녁 보내세요"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Asia/Seoul")
    except (ValueError, KeyError):
        return ZoneInfo("Asia/Seoul")
