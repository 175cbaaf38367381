"""What people do on the website in a day: visits of log-ins, content and product pages.

A visit is a few page events a minute or two apart (one visit in the web log: no gap
of 30 minutes), on a day chosen with probability visits-per-week / 7. Product pages
send ``product_view`` (the recommender reads them), content pages ``content_view``,
the home page ``page_view``. Some visits arrive from a portal banner or a search.
A few members' visits end at the e-Service desk: a consultation request, an inquiry
or a complaint (drawn from the visit's own seed, so the rest of the day is the same
with or without them).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from automation.demo.catalog import BY_CODE
from automation.demo.people import Person

# When people browse (local hour → weight): commute, lunch and the evening.
HOURS = {
    7: 2,
    8: 3,
    9: 3,
    10: 3,
    11: 3,
    12: 5,
    13: 4,
    14: 3,
    15: 3,
    16: 3,
    17: 3,
    18: 3,
    19: 4,
    20: 6,
    21: 7,
    22: 6,
    23: 3,
    0: 1,
}
ARRIVALS = (("portal-banner", 0.08), ("search", 0.18))  # the rest come directly
LOGIN = 0.75  # members log in on most visits
PRODUCT_PAGE = 0.45  # of pages after the first, product pages (the rest content)
SIGNUP = 0.035  # an anonymous visit that ends with a sign-up
BUY = 0.012  # a member's visit with product pages that ends with a purchase online
# A logged-in member's visit that ends at the e-Service desk: (share, type, categories).
DESK = (
    (0.006, "consultation_request", ("product",)),
    (0.004, "inquiry", ("claim", "payment", "contract", "product")),
    (0.0015, "complaint", ("claim", "payment", "service")),
)
DESK_TEXT = {
    "claim": "보험금 청구 진행 상황을 알고 싶습니다.",
    "payment": "보험료 자동이체 날짜를 바꾸고 싶습니다.",
    "contract": "계약 내용 확인서를 받고 싶습니다.",
    "product": "가입 전에 보장 내용을 상담받고 싶습니다.",
    "service": "상담 연결이 너무 오래 걸렸습니다.",
}
CUSTOMER_TYPES = (
    "login",
    "signup",
    "policy_purchased",
    "policy_renewed",
    "consultation_request",
    "inquiry",
    "complaint",
)


@dataclass(slots=True)
class Visit:
    """One visit's events, ready for ingest, and when the last of them happened."""

    person: Person
    events: list[dict[str, Any]] = field(default_factory=list)
    ends_at: datetime | None = None
    products: list[str] = field(default_factory=list)  # product pages seen
    signed_up: bool = False  # the CRM must know the new member before the event arrives


def day_of_visits(rng: random.Random, people: list[Person], day: datetime) -> list[Visit]:
    """The visits of one day (``day`` is local midnight), in time order."""
    hours, weights = list(HOURS), list(HOURS.values())
    visits = []
    for person in people:
        if person.dormant or rng.random() >= person.visits_per_week / 7:
            continue
        start = day + timedelta(
            hours=rng.choices(hours, weights)[0],
            minutes=rng.randint(0, 59),
            seconds=rng.randint(0, 59),
        )
        visits.append(visit(rng, person, start))
    visits.sort(key=lambda v: (v.ends_at, v.person.number))
    return visits


def visit(rng: random.Random, person: Person, at: datetime) -> Visit:
    """One visit starting at ``at``: log-in, then pages."""
    out = Visit(person)
    key = f"web:{person.visitor_id}:{at:%Y%m%d%H%M%S}"
    if person.customer_id and rng.random() < LOGIN:
        out.events.append(event(f"{key}:login", "login", at, person, {}))
    arrival = _arrival(rng)
    pages = 1 + _poisson(rng, person.pages_per_visit - 1)
    for i in range(pages):
        at += timedelta(seconds=rng.randint(20, 150))
        props: dict[str, Any] = dict(arrival) if i == 0 else {}
        if i == 0 and rng.random() < 0.4:
            type_, page = "page_view", {"url": "/"}
        elif rng.random() < PRODUCT_PAGE:
            code = _pick(rng, person.products)
            type_ = "product_view"
            page = {"url": f"/products/{code}", "product": code, "category": BY_CODE[code].category}
            out.products.append(code)
        else:
            tag = _pick(rng, person.content)
            type_, page = "content_view", {"url": f"/contents/{tag}", "content": tag}
        out.events.append(event(f"{key}:p{i}", type_, at, person, props | page))
    at += timedelta(seconds=rng.randint(30, 120))
    if person.customer_id is None and rng.random() < SIGNUP:
        person.customer_id = f"C{person.number:06d}"
        person.joined = out.signed_up = True
        out.events.append(event(f"{key}:signup", "signup", at, person, {}))
    elif person.customer_id and out.products and rng.random() < BUY:
        code = max(sorted(set(out.products)), key=out.products.count)
        props = {"policy_id": f"P-{key[4:]}", "product": code, "premium": 50_000, "channel": "web"}
        out.events.append(event(f"{key}:buy", "policy_purchased", at, person, props))
        person.policies.append(props["policy_id"])
    elif person.customer_id and out.events[0]["type"] == "login":
        out.events += _desk(key, at, person)
    out.ends_at = at
    return out


def event(
    event_id: str, type_: str, at: datetime, person: Person, props: dict[str, Any]
) -> dict[str, Any]:
    """An event as the website sends it: the cookie always, the member once known."""
    out: dict[str, Any] = {
        "event_id": event_id,
        "type": type_,
        "occurred_at": at.isoformat(),
        "visitor_id": person.visitor_id,
        "properties": props,
    }
    if person.customer_id and type_ in CUSTOMER_TYPES:
        out["customer_id"] = person.customer_id
    return out


def _desk(key: str, at: datetime, person: Person) -> list[dict[str, Any]]:
    """The e-Service request a logged-in visit may end with (none, mostly)."""
    draw = random.Random(key).random()  # the visit's own seed: the day's draws unchanged
    for share, type_, categories in DESK:
        if draw < share:
            category = categories[int(draw / share * len(categories))]
            props: dict[str, Any] = {"category": category, "text": DESK_TEXT[category]}
            if type_ == "consultation_request":
                props = {"url": "/consultation", "topic": category}
            return [event(f"{key}:{type_}", type_, at, person, props)]
        draw -= share
    return []


def _arrival(rng: random.Random) -> dict[str, str]:
    draw = rng.random()
    for source, share in ARRIVALS:
        if draw < share:
            return {"utm_source": source}
        draw -= share
    return {}


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = sorted(weights)
    return rng.choices(keys, [weights[k] for k in keys])[0]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: small means only, which is all a visit needs.
    if mean <= 0:
        return 0
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
