"""The condition language: validation, Python evaluation, history, and Python = SQL."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlmodel import Session

from automation import db
from automation.conditions import (
    Condition,
    ConditionError,
    Facts,
    compile_condition,
    parse_duration,
)
from automation.config import reset_settings
from automation.errors import ValidationError
from automation.models import Customer, Event, Policy, Product

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=SEOUL)
PRODUCTS = ("EDU-CARE", "CHILD-CI", "TERM")


def person(**fields: Any) -> Customer:
    return Customer(**{"customer_id": "C1", **fields})


def check(spec: Any, customer: Customer | None = None, now: datetime = NOW, **facts: Any) -> bool:
    """``spec`` evaluated in Python (no database unless ``session`` is given)."""
    return compile_condition(spec).matches(Facts(customer, now, **facts))


@dataclass
class StubEvent:
    type: str
    properties: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = NOW


# --- validation --------------------------------------------------------------------

MISTAKES = [
    ({"customer.age": {"betwen": [28, 40]}}, ("customer.age", "betwen"), "did you mean 'between'"),
    (
        {"all": [{"customer.gender": "M"}, {"customer.agee": 30}]},
        ("all", 1, "customer.agee"),
        "unknown field 'customer.agee'; did you mean 'age'? (customer has: age, attributes.<key>",
    ),
    ({"customer.age": {"between": [1, 2, 3]}}, ("customer.age", "between"), "two values"),
    ({"customer.age": {"between": [40, 28]}}, ("customer.age", "between"), "low 40 is above"),
    ({"event.product": {"in": "EDU-CARE"}}, ("event.product", "in"), "expects a list"),
    ({"customer.gender": {"not_in": []}}, ("customer.gender", "not_in"), "expects a list"),
    ({"did": {"type": "login", "within": "3x"}}, ("did", "within"), "unknown unit 'x'"),
    ({"did": {"type": "login", "within": 30}}, ("did", "within"), "not a duration"),
    ({"events": {"type": "login", "within": "0d"}}, ("events", "within"), "zero"),
    ({"customer.joined_at": {"gte": "30d"}}, ("customer.joined_at", "gte"), "needs a sign: -30d"),
    ({"customer.joined_at": {"gte": "-30"}}, ("customer.joined_at", "gte"), "has no unit"),
    ({"customer.joined_at": {"gte": "soon"}}, ("customer.joined_at", "gte"), "expects a date"),
    ({"events": {"typ": "login"}}, ("events", "typ"), "did you mean 'type'"),
    ({"did": {"type": "login", "count": 2}}, ("did", "count"), "unknown key 'count' in did"),
    ({"events": {"within": "7d"}}, ("events", "type"), "events needs a type"),
    ({"policies": {"where": {"state": "active"}}}, ("policies", "where", "state"), "'status'"),
    ({"policies": {"count": -1}}, ("policies", "count"), "whole number from 0"),
    ({"policies": {"count": {"exists": True}}}, ("policies", "count", "exists"), "does not apply"),
    (["customer.gender"], (), "a condition is a mapping"),
    ({"any": ["customer.gender"]}, ("any", 0), "a condition is a mapping"),
    ({"any": []}, ("any",), "non-empty list"),
    ({"not": {}}, ("not",), "not takes a condition"),
    ({"segment": "vip"}, ("segment",), "unknown key 'segment'"),
    ({1: 2}, (1,), "keys are field paths"),
    ({"customer.mobile": 1012345678}, ("customer.mobile",), "expects text (quote it)"),
    ({"customer.has_children": "yes"}, ("customer.has_children",), "expects true or false"),
    ({"customer.has_children": {"gt": False}}, ("customer.has_children", "gt"), "does not apply"),
    ({"customer.age": -1}, ("customer.age",), "whole years from 0 to 150"),
    ({"customer.age": "30"}, ("customer.age",), "whole years"),
    ({"customer.age": 30.5}, ("customer.age",), "whole years"),
    ({"customer.age": True}, ("customer.age",), "whole years"),
    ({"customer.age": {"contains": 3}}, ("customer.age", "contains"), "does not apply"),
    ({"customer.gender": None}, ("customer.gender",), "use {exists: false}"),
    ({"customer.gender": ["M", "F"]}, ("customer.gender",), "{in: [a, b]}"),
    ({"customer.gender": {}}, ("customer.gender",), "give a value or an operator"),
    ({"customer.gender": {"exists": "yes"}}, ("customer.gender", "exists"), "true or false"),
    ({"customer.name": {"starts_with": ""}}, ("customer.name", "starts_with"), "some text"),
    ({"customer.attributes": 1}, ("customer.attributes",), "needs a key"),
    ({'customer.attributes.a"b': 1}, ('customer.attributes.a"b',), "quotes"),
    ({"customer.attributes.flag": {"gt": True}}, ("customer.attributes.flag", "gt"), "no order"),
    ({"customer.attributes.x": {"in": [1, None]}}, ("customer.attributes.x", "in", 1), "null"),
    ({"policy.colour": "red"}, ("policy.colour",), "unknown field 'policy.colour'"),
    ({"visitor.id": "x"}, ("visitor.id",), "fields start with customer., event. or policy."),
    ({"policies": {"where": {"premium": "high"}}}, ("policies", "where", "premium"), "a number"),
]


@pytest.mark.parametrize(("spec", "path", "message"), MISTAKES)
def test_mistakes_are_refused_with_where_and_why(
    spec: Any, path: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(spec)
    assert caught.value.path == path
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValidationError)


@pytest.mark.parametrize(
    "spec",
    [
        {"event.product": "EDU-CARE"},
        {"any": [{"customer.gender": "F"}, {"policy.status": "active"}]},
        {"not": {"event.type": "login"}},
    ],
)
def test_segments_refuse_event_and_policy_fields(spec: dict[str, Any]) -> None:
    compile_condition(spec)  # fine for journeys
    with pytest.raises(ConditionError, match="segments select customers without an event"):
        compile_condition(spec, allow_event=False)


def test_event_fields_have_no_sql_form() -> None:
    condition = compile_condition({"all": [{"customer.gender": "F"}, {"event.product": "X"}]})
    assert condition.uses_event
    with pytest.raises(ConditionError) as caught:
        condition.to_sql(NOW)
    assert caught.value.path == ("all", 1, "event.product")
    assert "only while an event is handled" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        (" 365d ", timedelta(days=365)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("30", "has no unit"),
        ("0d", "is zero"),
        ("-3d", "is negative"),
        ("3y", "unknown unit 'y'"),
        ("3M", "unknown unit 'M'"),
        ("1.5d", "not a duration"),
        ("", "not a duration"),
        (30, "not a duration"),
        ("99999999d", "too long"),
    ],
)
def test_bad_durations(text: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_duration(text)


def test_fields_and_flags() -> None:
    condition = compile_condition(
        {
            "customer.age": {"gte": 30},
            "any": [{"customer.attributes.vip": True}, {"event.product": "X"}],
            "policies": {"where": {"status": "active"}},
            "did_not": {"type": "login", "where": {"device": "ios"}},
        }
    )
    assert condition.fields == {
        "customer.age",
        "customer.attributes.vip",
        "event.product",
        "policies",
        "policies.status",
        "events",
        "events.device",
        "events:login",  # the event types whose arrival can change the answer
    }
    assert condition.uses_event and condition.uses_history
    plain = compile_condition({"customer.gender": "F"})
    assert not plain.uses_event and not plain.uses_history


@pytest.mark.parametrize("spec", [None, {}])
def test_empty_condition_always_matches(spec: Any) -> None:
    condition = compile_condition(spec)
    assert isinstance(condition, Condition)
    assert condition.matches(Facts(None, NOW))
    assert condition.fields == frozenset()


def test_facts_need_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        Facts(None, datetime(2026, 1, 1))  # noqa: DTZ001


# --- Python evaluation -------------------------------------------------------------

KIM_FIELDS: dict[str, Any] = dict(
    customer_id="KIM",
    name="Kim",
    gender="F",
    occupation="office worker",
    has_children=True,
    email_consent=True,
    birth_date=date(1990, 11, 22),
    joined_at=datetime(2025, 12, 31, 15, 30, tzinfo=UTC),  # 2026-01-01 00:30 in Seoul
    attributes={
        "score": 7,
        "ratio": 0.5,
        "tier": "gold",
        "tags": ["a", 2, True],
        "flag": True,
        "one": 1,
        "since": "2026-03-01T10:00:00+09:00",
        "nothing": None,
    },
)
KIM = person(**KIM_FIELDS)
OPERATOR_CASES = [
    ({"customer.gender": "F"}, True),
    ({"customer.gender": {"eq": "f"}}, False),
    ({"customer.gender": {"ne": "M"}}, True),
    ({"customer.name": {"lt": "L"}}, True),
    ({"customer.name": {"lte": "Kim"}}, True),
    ({"customer.name": {"gt": "Kim"}}, False),
    ({"customer.name": {"gte": "Kim", "lt": "Kimz"}}, True),
    ({"customer.name": {"between": ["A", "K"]}}, False),
    ({"customer.name": {"lt": "kim"}}, True),  # code point order: upper case first
    ({"customer.gender": {"in": ["M", "F"]}}, True),
    ({"customer.gender": {"not_in": ["M", "F"]}}, False),
    ({"customer.occupation": {"contains": "office"}}, True),
    ({"customer.occupation": {"contains": "Office"}}, False),
    ({"customer.occupation": {"starts_with": "office"}}, True),
    ({"customer.occupation": {"starts_with": "worker"}}, False),
    ({"customer.gender": {"exists": True}}, True),
    ({"customer.has_children": True, "customer.email_consent": True}, True),
    ({"customer.has_children": {"ne": True}}, False),
    ({"customer.age": 36}, True),  # 36th birthday today in Seoul
    ({"customer.age": {"between": [28, 40]}}, True),
    ({"customer.age": {"gt": 36}}, False),
    ({"customer.age": {"in": [35, 37]}}, False),
    ({"customer.birth_date": {"lt": "1990-11-23"}}, True),
    ({"customer.birth_date": {"lte": "-36w"}}, True),
    ({"customer.joined_at": {"gte": date(2026, 1, 1)}}, True),  # a date in Seoul
    ({"customer.joined_at": {"eq": "2026-01-01"}}, True),
    ({"customer.joined_at": {"lt": date(2026, 1, 1)}}, False),
    ({"customer.joined_at": {"lt": "2026-01-01T00:00:00Z"}}, True),  # an instant
    ({"customer.joined_at": {"gte": "-365d"}}, True),
    ({"customer.joined_at": {"gte": "-300d"}}, False),
    ({"customer.joined_at": {"lt": "+1h"}}, True),
    ({"customer.attributes.score": {"gt": 5}}, True),
    ({"customer.attributes.score": {"between": [7, 7.0]}}, True),
    ({"customer.attributes.ratio": 0.5}, True),
    ({"customer.attributes.score": "7"}, False),  # text never equals a number
    ({"customer.attributes.tier": {"in": ["gold", "vip"]}}, True),
    ({"customer.attributes.tier": {"gt": "a"}}, True),
    ({"customer.attributes.tier": {"gt": 1}}, False),  # kinds differ: false
    ({"customer.attributes.tags": {"contains": "a"}}, True),
    ({"customer.attributes.tags": {"contains": 2}}, True),
    ({"customer.attributes.tags": {"contains": True}}, True),
    ({"customer.attributes.tags": {"contains": "b"}}, False),
    ({"customer.attributes.tier": {"contains": "ol"}}, True),
    ({"customer.attributes.flag": True}, True),
    ({"customer.attributes.flag": 1}, False),  # true is not 1
    ({"customer.attributes.one": True}, False),  # and 1 is not true
    ({"customer.attributes.one": {"in": [True]}}, False),
    ({"customer.attributes.tags": {"contains": 1}}, False),  # the true in tags is not 1
    ({"customer.attributes.since": {"gte": date(2026, 3, 1)}}, True),
    ({"customer.attributes.since": {"eq": date(2026, 3, 1)}}, True),
    ({"customer.attributes.since": {"lt": "-200d"}}, True),
    ({"customer.attributes.since": {"lt": "-300d"}}, False),
    ({"customer.attributes.since": {"starts_with": "2026-03"}}, True),
    ({"customer.attributes.since": "2026-03-01"}, False),  # quoted text: equality of text
    ({"customer.attributes.nothing": {"exists": False}}, True),  # JSON null is missing
    ({"customer.attributes.vip_since": {"exists": True}}, False),
]


@pytest.mark.parametrize(("spec", "expected"), OPERATOR_CASES)
def test_python_operators(spec: dict[str, Any], expected: bool) -> None:
    assert check(spec, KIM) is expected


def test_naive_times_are_in_the_business_time_zone() -> None:
    joined = {"customer.joined_at": {"gte": datetime(2026, 1, 1, 0, 30)}}  # noqa: DTZ001
    assert check(joined, KIM)
    assert not check({"customer.joined_at": {"gt": "2026-01-01T00:30:00"}}, KIM)


def test_the_business_time_zone_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    new_year = {"customer.joined_at": {"eq": date(2026, 1, 1)}}
    assert check(new_year, KIM)  # 00:30 on 1 January in Seoul
    monkeypatch.setenv("AUTOMATION_TIMEZONE", "UTC")
    reset_settings()
    assert not check(new_year, KIM)  # 15:30 on 31 December in UTC
    assert check({"customer.joined_at": {"eq": "2025-12-31"}}, KIM)


NOBODY = person(customer_id="NOBODY", attributes={})
MISSING_CASES = [
    ({"customer.gender": "F"}, False),
    ({"customer.gender": {"ne": "F"}}, True),
    ({"customer.gender": {"in": ["F"]}}, False),
    ({"customer.gender": {"not_in": ["F"]}}, True),
    ({"customer.gender": {"exists": False}}, True),
    ({"customer.gender": {"exists": True}}, False),
    ({"customer.gender": {"lt": "Z"}}, False),
    ({"customer.gender": {"gte": "A"}}, False),
    ({"customer.occupation": {"contains": "o"}}, False),
    ({"customer.has_children": False}, False),
    ({"customer.has_children": {"ne": True}}, True),
    ({"customer.age": {"lt": 200 - 51}}, False),
    ({"customer.age": {"not_in": [30]}}, True),
    ({"customer.joined_at": {"lt": "+1d"}}, False),
    ({"customer.attributes.vip": {"ne": True}}, True),
    ({"not": {"customer.attributes.vip": True}}, True),
    ({"customer.attributes.vip": {"between": [1, 2]}}, False),
]


@pytest.mark.parametrize(("spec", "expected"), MISSING_CASES)
def test_missing_values(spec: dict[str, Any], expected: bool) -> None:
    assert check(spec, NOBODY) is expected
    assert check(spec, None) is expected  # no customer at all: everything is missing


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(1990, 11, 22), date(2026, 11, 22), 36),
        (date(1990, 11, 23), date(2026, 11, 22), 35),
        (date(2000, 2, 29), date(2027, 2, 28), 26),
        (date(2000, 2, 29), date(2027, 3, 1), 27),
        (date(2000, 2, 29), date(2028, 2, 29), 28),
        (date(2001, 2, 28), date(2028, 2, 29), 27),
        (date(2001, 3, 1), date(2028, 2, 29), 26),
        (date(2026, 11, 23), date(2026, 11, 22), -1),
    ],
)
def test_age_is_whole_years_in_the_business_zone(birth: date, today: date, age: int) -> None:
    at = datetime.combine(today, datetime.min.time(), tzinfo=SEOUL) + timedelta(minutes=30)
    customer = person(birth_date=birth)
    assert check({"customer.age": max(age, 0)}, customer, at) is (age >= 0)
    assert check({"customer.age": {"gte": age + 1}}, customer, at) is False
    # Thirty minutes past midnight in Seoul is still the day before in UTC.
    assert at.astimezone(UTC).date() == today - timedelta(days=1)


def test_event_fields() -> None:
    viewed = StubEvent("page_view", {"product": "EDU-CARE", "seconds": 40, "tags": ["kids"]})
    assert check({"event.type": "page_view", "event.product": {"in": ["EDU-CARE"]}}, event=viewed)
    assert check({"event.seconds": {"gte": 30}, "event.tags": {"contains": "kids"}}, event=viewed)
    assert not check({"event.product": "CHILD-CI"}, event=viewed)
    assert check({"event.missing": {"exists": False}}, event=viewed)
    assert not check({"event.type": "page_view"})  # no event: missing
    assert check({"event.type": {"ne": "login"}})


class StubSession:
    """Just enough of a session for ``policy.*`` without a database."""

    def __init__(self, *policies: Policy) -> None:
        self.policies = {p.policy_id: p for p in policies}

    def get(self, model: type, key: str) -> Any:
        assert model is Policy
        return self.policies.get(key)

    def scalar(self, query: Any) -> int:
        return 0


def test_policy_fields_from_the_event_or_the_enrollment() -> None:
    session = StubSession(
        Policy(
            policy_id="P1",
            customer_id="C1",
            status="active",
            premium=Decimal("50.50"),
            maturity_date=date(2026, 12, 10),
        ),
        Policy(policy_id="P2", customer_id="C1", status="lapsed"),
    )
    spec = {
        "policy.status": "active",
        "policy.premium": {"gt": 50.25},
        "policy.maturity_date": {"lte": "+30d"},
    }
    matured = StubEvent("policy_maturing", {"policy_id": "P1"})
    assert check(spec, event=matured, session=session)
    assert not check(spec, event=matured, session=session, policy_id="P2")
    assert check({"policy.premium": 50.5}, event=matured, session=session)
    assert not check({"policy.premium": 50}, event=matured, session=session)
    assert check({"policy.premium": {"exists": False}}, policy_id="P2", session=session)
    assert check({"policy.status": {"exists": False}}, event=matured)  # no session: missing


# --- history on a real database ----------------------------------------------------


def add_all(*rows: Any) -> None:
    """Products, then customers, then their policies and events (foreign keys first)."""
    products = [Product(product_code=code, name=code, category="life") for code in PRODUCTS]
    with db.session_scope() as session:
        for batch in (products, [r for r in rows if isinstance(r, Customer)]):
            session.add_all(batch)
            session.flush()
        session.add_all([r for r in rows if not isinstance(r, Customer)])


_event_ids = itertools.count()


def event(customer_id: str | None, type_: str, ago: timedelta, **properties: Any) -> Event:
    at = NOW - ago
    return Event(
        event_id=f"e{next(_event_ids)}",
        type=type_,
        occurred_at=at,
        received_at=at,
        customer_id=customer_id,
        properties=properties,
    )


def agree(spec: Any, now: datetime = NOW) -> set[str]:
    """The customers the condition matches, checked the same in Python and in SQL."""
    condition = compile_condition(spec)
    with Session(db.get_engine()) as session:
        customers = {c.customer_id: c for c in session.scalars(select(Customer))}
        in_python = {
            customer_id
            for customer_id, customer in customers.items()
            if condition.matches(Facts(customer, now, session=session))
        }
        in_sql = set(session.scalars(select(Customer.customer_id).where(condition.to_sql(now))))  # type: ignore[call-overload]
        if in_python != in_sql:
            differ = [_described(session, customers[c]) for c in sorted(in_python ^ in_sql)]
            raise AssertionError(
                f"{spec} at {now}: only Python {in_python - in_sql}, only SQL "
                f"{in_sql - in_python}: {differ}"
            )
    return in_sql


def _described(session: Session, customer: Customer) -> dict[str, Any]:
    """A customer with their policies and events, for a failure message."""
    found: dict[str, Any] = {"customer": customer.model_dump(exclude_none=True)}
    for name, model in (("policies", Policy), ("events", Event)):
        mine = select(model).where(model.__table__.c.customer_id == customer.customer_id)  # type: ignore[union-attr]
        found[name] = [row.model_dump() for row in session.scalars(mine)]
    return found


def test_the_same_cases_in_sql(database: str) -> None:
    add_all(person(**KIM_FIELDS), person(customer_id="NOBODY", attributes={}))
    for spec, expected in OPERATOR_CASES:
        assert ("KIM" in agree(spec)) is expected, spec
    for spec, expected in MISSING_CASES:
        assert ("NOBODY" in agree(spec)) is expected, spec


def test_policy_history(database: str) -> None:
    add_all(
        person(customer_id="A"),
        person(customer_id="B"),
        person(customer_id="C"),
        Policy(
            policy_id="A1",
            customer_id="A",
            product_code="EDU-CARE",
            premium=Decimal("80.00"),
            maturity_date=date(2026, 12, 1),
        ),
        Policy(policy_id="A2", customer_id="A", product_code="TERM", premium=Decimal("20.50")),
        Policy(
            policy_id="B1",
            customer_id="B",
            product_code="EDU-CARE",
            status="lapsed",
            maturity_date=date(2027, 6, 1),
        ),
    )
    assert agree({"policies": {}}) == {"A", "B"}
    assert agree({"policies": {"count": 0}}) == {"C"}
    assert agree({"policies": {"count": {"gte": 2}}}) == {"A"}
    assert agree({"policies": {"count": {"between": [1, 1]}}}) == {"B"}
    assert agree({"policies": {"where": {"status": "active", "product_code": "EDU-CARE"}}}) == {"A"}
    assert agree({"policies": {"where": {"product_code": "EDU-CARE"}, "count": 1}}) == {"A", "B"}
    assert agree({"policies": {"where": {"premium": {"gt": 20.5}}}}) == {"A"}
    assert agree({"policies": {"where": {"premium": {"exists": False}}}}) == {"B"}
    assert agree({"policies": {"where": {"maturity_date": {"lte": "+30d"}}}}) == {"A"}
    assert agree({"did_not": {"type": "login"}, "policies": {"count": {"lt": 2}}}) == {"B", "C"}


def test_event_history(database: str) -> None:
    day = timedelta(days=1)
    add_all(
        person(customer_id="A"),
        person(customer_id="B"),
        person(customer_id="C"),
        *[event("A", "page_view", i * day, content="education-children") for i in range(5)],
        *[event("B", "page_view", i * day, content="education-children") for i in range(4)],
        event("B", "page_view", 40 * day, content="education-children"),
        event("B", "page_view", 2 * day, content="retirement"),
        event("A", "email_clicked", 6 * day),
        event("B", "email_clicked", 8 * day),
        event("C", "login", -day),  # after now: not yet history
        event("B", "login", 89 * day),
        event(None, "login", day),
    )
    views = {"type": "page_view", "where": {"content": "education-children"}}
    assert agree({"events": {**views, "within": "30d", "count": {"gte": 5}}}) == {"A"}
    assert agree({"events": {**views, "count": {"gte": 5}}}) == {"A", "B"}
    assert agree({"events": {**views, "within": "30d", "count": 4}}) == {"B"}
    assert agree({"events": {"type": "page_view", "count": {"gt": 5}}}) == {"B"}
    assert agree({"did": {"type": "email_clicked", "within": "7d"}}) == {"A"}
    assert agree({"did": {"type": ["email_clicked", "login"], "within": "2w"}}) == {"A", "B"}
    assert agree({"did_not": {"type": "login", "within": "90d"}}) == {"A", "C"}
    assert agree({"did": {"type": "login"}}) == {"B"}
    assert agree({"did": {"type": "login"}}, NOW + 2 * day) == {"B", "C"}
    assert agree({"events": {"type": "page_view", "within": "36h", "count": 2}}) == {"A", "B"}
    # counts that 0 passes: customers without any such event match too
    assert agree({"events": {**views, "within": "30d", "count": {"lt": 5}}}) == {"B", "C"}
    assert agree({"events": {"type": "page_view", "count": {"lte": 0}}}) == {"C"}
    assert agree({"not": {"events": {"type": "page_view", "count": {"ne": 6}}}}) == {"B"}
    either = [{"customer.customer_id": "C"}, {"events": {**views, "count": {"between": [5, 5]}}}]
    assert agree({"any": either}) == {"A", "B", "C"}


def test_a_count_in_sql_is_one_pass_grouped_by_customer() -> None:
    """Not a count per customer: one aggregate over the rows, joined to customers."""
    from sqlalchemy.dialects import postgresql, sqlite

    for spec in (
        {"events": {"type": "product_view", "within": "30d", "count": {"gte": 3}}},
        {"policies": {"count": {"lt": 2}}},
    ):
        where = compile_condition(spec).to_sql(NOW)
        for dialect in (postgresql.dialect(), sqlite.dialect()):
            sql = str(select(Customer.customer_id).where(where).compile(dialect=dialect))
            table = "events" if "events" in spec else "policies"
            assert f"GROUP BY {table}.customer_id" in sql and "HAVING" in sql
            assert f"{table}.customer_id = customers.customer_id" not in sql


def test_history_without_a_session_is_empty() -> None:
    someone = person()
    assert not check({"did": {"type": "login"}}, someone)
    assert check({"did_not": {"type": "login"}}, someone)
    assert check({"policies": {"count": 0}}, someone)
    assert not check({"policies": {}}, someone)


def test_policy_field_with_a_real_session(database: str) -> None:
    add_all(
        person(customer_id="A"), Policy(policy_id="A1", customer_id="A", premium=Decimal("9.90"))
    )
    with Session(db.get_engine()) as session:
        customer = session.get(Customer, "A")
        renewed = StubEvent("policy_renewed", {"policy_id": "A1"})
        facts = Facts(customer, NOW, event=renewed, session=session)
        assert compile_condition({"policy.premium": {"lt": 10}, "policy.status": "active"}).matches(
            facts
        )
        gone = Facts(customer, NOW, event=StubEvent("x", {"policy_id": "nope"}), session=session)
        assert compile_condition({"policy.status": {"exists": False}}).matches(gone)


# --- Python and SQL agree ----------------------------------------------------------

NOWS = [
    datetime(2026, 11, 22, 1, 0, tzinfo=UTC),  # 10:00 in Seoul
    datetime(2026, 11, 21, 15, 30, tzinfo=UTC),  # 00:30 in Seoul, still the 21st in UTC
    datetime(2028, 2, 28, 16, 0, tzinfo=UTC),  # 29 February 2028, 01:00 in Seoul
    datetime(2027, 2, 28, 14, 59, tzinfo=UTC),  # 23:59 on 28 February 2027 in Seoul
]
TEXTS = [
    "",
    "a",
    "A",
    "ab",
    "B",
    "office",
    "Office",
    "off",
    "10",
    "2",
    "사무직",
    "2026-11-21",
    "2026-11-22T09:00:00+09:00",
    "2027-02-28",
]
JSON_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-3, 12),
    st.sampled_from([0.5, -1.5, 2.0, 10.25]),
    st.sampled_from(TEXTS),
)
JSON_VALUES = st.one_of(
    st.none(),
    JSON_SCALARS,
    st.lists(JSON_SCALARS, max_size=3),
    st.just({"nested": 1}),
)
KEYS = ["score", "tier", "tags", "since"]
EVENT_TYPES = ["page_view", "email_clicked", "login"]
Row = tuple[type, dict[str, Any]]  # a model and its fields, built fresh for every example
World = tuple[datetime, list[Row], list[dict[str, Any]]]


def local_today(now: datetime) -> date:
    return now.astimezone(SEOUL).date()


@st.composite
def births(draw: st.DrawFn, today: date) -> date | None:
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    if draw(st.integers(0, 5)) == 0:
        return draw(
            st.sampled_from(
                [date(2000, 2, 29), date(1996, 2, 29), date(1999, 2, 28), date(1999, 3, 1)]
            )
        )
    years = draw(st.integers(0, 70))
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:
        anniversary = today.replace(year=today.year - years, day=28)
    return anniversary + timedelta(days=draw(st.integers(-2, 2)))


@st.composite
def customers(draw: st.DrawFn, number: int, now: datetime) -> list[Row]:
    today, people = local_today(now), list[Row]()
    for i in range(number):
        hours = draw(st.integers(-30, 24 * 400))
        joined = now - timedelta(hours=hours, minutes=draw(st.sampled_from([0, 29, 31])))
        fields = {
            "customer_id": f"C{i:02}",
            "name": draw(st.sampled_from([None, "Kim", "kim", "Lee", "Ähn", "Z", "이"])),
            "gender": draw(st.sampled_from([None, "M", "F"])),
            "occupation": draw(st.sampled_from([None, *TEXTS[:9]])),
            "has_children": draw(st.sampled_from([None, True, False])),
            "email_consent": draw(st.booleans()),
            "birth_date": draw(births(today)),
            "joined_at": draw(st.sampled_from([None, joined, joined])),
            "attributes": draw(st.dictionaries(st.sampled_from(KEYS), JSON_VALUES, max_size=4)),
        }
        people.append((Customer, fields))
    return people


MATURITIES = (-40, -1, 0, 1, 29, 30, 31)
PREMIUMS = [None, Decimal("10.50"), Decimal("20"), Decimal("99.99")]


@st.composite
def histories(draw: st.DrawFn, people: list[Row], now: datetime) -> list[Row]:
    today, rows = local_today(now), list[Row]()
    for _, who in people:
        customer_id = who["customer_id"]
        for j in range(draw(st.integers(0, 3))):
            days = draw(st.sampled_from([None, *MATURITIES]))
            policy = {
                "policy_id": f"{customer_id}-P{j}",
                "customer_id": customer_id,
                "status": draw(st.sampled_from(["active", "lapsed", "matured"])),
                "product_code": draw(st.sampled_from([None, *PRODUCTS])),
                "premium": draw(st.sampled_from(PREMIUMS)),
                "maturity_date": None if days is None else today + timedelta(days=days),
            }
            rows.append((Policy, policy))
        for j in range(draw(st.integers(0, 4))):
            at = now - timedelta(hours=draw(st.integers(-24, 24 * 100)))
            properties = {
                "content": draw(st.sampled_from(["kids", "retire", 3])),
                "n": draw(st.integers(0, 3)),
            }
            event_type = draw(st.sampled_from(EVENT_TYPES))
            rows.append(
                (
                    Event,
                    {
                        "event_id": f"{customer_id}-E{j}",
                        "type": event_type,
                        "occurred_at": at,
                        "received_at": at,
                        "customer_id": customer_id,
                        "properties": properties,
                    },
                )
            )
    return rows


# A time operand: one form, and an offset from now in that form's step. Offsets sorted
# give operands in order, whatever the form, for ``between``.
TIME_FORMS = {
    "date": (-800, 30),  # days, as a date
    "iso-date": (-800, 30),  # days, as "2026-11-22"
    "instant": (-24 * 400, 48),  # hours, as an aware datetime
    "iso": (-24 * 400, 48),  # hours, as "2026-11-22T10:30:00+00:00"
    "m": (-600, 600),  # minutes, as "-90m" / "+90m"
    "h": (-24 * 30, 48),
    "d": (-800, 30),
    "w": (-120, 4),
}


def time_operand(now: datetime, form: str, n: int) -> Any:
    if form in "mhdw":
        n = n + 1 if n >= 0 else n  # never zero, still in order
        return f"{'+' if n > 0 else '-'}{abs(n)}{form}"
    if form in ("date", "iso-date"):
        day = local_today(now) + timedelta(days=n)
        return day if form == "date" else day.isoformat()
    at = now + timedelta(hours=n, minutes=30)
    return at if form == "instant" else at.isoformat()


def times(now: datetime) -> st.SearchStrategy[Any]:
    return st.sampled_from(sorted(TIME_FORMS)).flatmap(
        lambda form: st.integers(*TIME_FORMS[form]).map(lambda n: time_operand(now, form, n))
    )


@st.composite
def time_pairs(draw: st.DrawFn, now: datetime) -> list[Any]:
    form = draw(st.sampled_from(sorted(TIME_FORMS)))
    offsets = sorted(draw(st.lists(st.integers(*TIME_FORMS[form]), min_size=2, max_size=2)))
    return [time_operand(now, form, n) for n in offsets]


def sorted_pairs(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(values, min_size=2, max_size=2).map(sorted)


def operator_spec(
    draw: st.DrawFn,
    operands: st.SearchStrategy[Any],
    ops: list[str],
    pairs: st.SearchStrategy[list[Any]] | None = None,
) -> dict[str, Any]:
    op = draw(st.sampled_from(ops))
    if op == "exists":
        return {op: draw(st.booleans())}
    if op in ("in", "not_in"):
        return {op: draw(st.lists(operands, min_size=1, max_size=3))}
    if op == "between":
        return {op: draw(sorted_pairs(operands) if pairs is None else pairs)}
    return {op: draw(operands)}


ORDERED = ["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between", "exists"]
TEXT_OPS = [*ORDERED, "contains", "starts_with"]
NAMES = st.sampled_from(["A", "Kim", "kim", "M", "Z", "off", "ice", "이", "a", "10"])
NUMBERS = st.one_of(st.integers(-3, 12), st.sampled_from([0.5, 2.0, 10.25]))


@st.composite
def field_tests(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    which = draw(st.sampled_from(["text", "bool", "age", "date", "json", "json"]))
    if which == "text":
        path = draw(st.sampled_from(["customer.name", "customer.occupation", "customer.gender"]))
        return {path: operator_spec(draw, NAMES, TEXT_OPS)}
    if which == "bool":
        path = draw(st.sampled_from(["customer.has_children", "customer.email_consent"]))
        return {path: operator_spec(draw, st.booleans(), ["eq", "ne", "in", "not_in", "exists"])}
    if which == "age":
        return {"customer.age": operator_spec(draw, st.integers(0, 72), ORDERED)}
    if which == "date":
        path = draw(st.sampled_from(["customer.birth_date", "customer.joined_at"]))
        return {path: operator_spec(draw, times(now), ORDERED, time_pairs(now))}
    return {f"customer.attributes.{draw(st.sampled_from([*KEYS, 'absent']))}": json_test(draw, now)}


def json_test(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    op = draw(st.sampled_from(TEXT_OPS))
    texts = st.sampled_from(TEXTS)
    if op == "starts_with" or (op == "contains" and draw(st.booleans())):
        return operator_spec(draw, st.sampled_from(TEXTS[1:]), [op])
    if op == "contains":
        return operator_spec(draw, st.one_of(st.booleans(), NUMBERS), [op])
    if op in ("lt", "lte", "gt", "gte"):
        return operator_spec(draw, st.one_of(NUMBERS, texts, times(now)), [op])
    if op == "between":
        pairs = st.one_of(sorted_pairs(NUMBERS), sorted_pairs(texts), time_pairs(now))
        return operator_spec(draw, NUMBERS, [op], pairs)
    return operator_spec(draw, st.one_of(JSON_SCALARS, times(now)), [op])


@st.composite
def history_tests(draw: st.DrawFn) -> dict[str, Any]:
    counts = st.one_of(
        st.integers(0, 3),
        st.builds(lambda op, n: {op: n}, st.sampled_from(ORDERED[:6]), st.integers(0, 3)),
    )
    if draw(st.booleans()):
        where: dict[str, Any] = {}
        if draw(st.booleans()):
            where["status"] = draw(st.sampled_from(["active", {"in": ["lapsed", "matured"]}]))
        if draw(st.booleans()):
            where["product_code"] = draw(st.sampled_from([*PRODUCTS, {"exists": False}]))
        if draw(st.booleans()):
            where["premium"] = draw(
                st.sampled_from([{"gte": 20}, {"lt": 10.5}, 99.99, {"exists": True}])
            )
        if draw(st.booleans()):
            where["maturity_date"] = draw(
                st.sampled_from([{"lte": "+30d"}, {"gt": "-1d"}, {"exists": False}])
            )
        spec: dict[str, Any] = {"where": where}
        if draw(st.booleans()):
            spec["count"] = draw(counts)
        return {"policies": spec}
    kind = draw(st.sampled_from(["events", "did", "did_not"]))
    spec = {
        "type": draw(
            st.one_of(
                st.sampled_from(EVENT_TYPES),
                st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=2),
            )
        )
    }
    if draw(st.booleans()):
        spec["within"] = draw(st.sampled_from(["12h", "3d", "30d", "2w"]))
    if draw(st.booleans()):
        spec["where"] = {
            draw(st.sampled_from(["content", "n"])): draw(
                st.sampled_from(["kids", 3, {"gte": 2}, {"ne": "kids"}])
            )
        }
    if kind == "events" and draw(st.booleans()):
        spec["count"] = draw(counts)
    return {kind: spec}


def conditions(now: datetime) -> st.SearchStrategy[dict[str, Any]]:
    leaves = st.one_of(field_tests(now), field_tests(now), history_tests())
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"all": parts}),
            st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"any": parts}),
            inner.map(lambda part: {"not": part}),
            st.tuples(inner, inner).map(lambda pair: {**pair[0], **pair[1]}),
        ),
        max_leaves=5,
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    now = draw(st.sampled_from(NOWS))
    people = draw(customers(30, now))
    rows = people + draw(histories(people, now))
    return now, rows, draw(st.lists(conditions(now), min_size=1, max_size=4))


def replace_everything(rows: list[Any]) -> None:
    with db.session_scope() as session:
        for model in (Event, Policy, Customer, Product):
            session.exec(delete(model))  # type: ignore[call-overload]
    add_all(*rows)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_python_and_sql_agree(database: str, world: World) -> None:
    now, rows, specs = world
    replace_everything([model(**fields) for model, fields in rows])
    for spec in specs:
        agree(spec, now)
