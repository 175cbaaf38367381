"""Fuzzing ``POST /v1/events`` through the real app, on SQLite and on PostgreSQL.

Random events and batches (text with NUL and lone surrogates, deep nesting, long
strings, numbers beyond 64 bits and beyond a double, wrong types, the core types with
the properties the pipeline writes to columns), each batch with known-good events
mixed in. Whatever the body:

- never a 5xx;
- a batch is answered per event (accepted, duplicate, or rejected with reasons), or
  refused whole with an error only when the body itself nests past the parser's limit;
- every accepted event is stored, and the pipeline processes it without an error;
- the good events are accepted and stored, whatever was beside them.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from automation import db
from automation.api import create_app, keys
from automation.events.columns import CHECKS
from automation.events.schema import CORE_TYPES
from automation.models import Event
from automation.worker.process import process_events

DEEP = re.compile(r'"@deep:(\d+)@"')

# Text: ordinary, any code point (lone surrogates too), the characters that hurt, lengths
# at the columns' limits.
SPECIAL = st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "x\udfff", "\ud83d\ude00", "custom_evt\n", "\u2028", ""]
)
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
TEXT = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(codec="utf-8") | SURROGATE | st.just("\x00"), max_size=12),
    SPECIAL,
    st.sampled_from([1, 63, 64, 65, 200, 201, 10_000]).map(lambda n: "P" * n),
)
NUMBER = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-(10**400), 10**400),  # beyond 64 bits, some beyond a double
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e30, 999_999_999_999.99, 999_999_999_999.996, -1e13, 5e-324, 12.5, 0]),
)
SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # the ``frozen`` fixture's clock
NEAR_NOW = st.integers(-3000, 30).map(lambda h: (NOW + timedelta(hours=h)).isoformat())
TIME = st.one_of(
    NEAR_NOW,
    st.datetimes(
        min_value=datetime(1, 1, 2),  # noqa: DTZ001 (hypothesis wants naive bounds)
        max_value=datetime(9999, 12, 30),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, None]),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+09:00", "9999-12-31T23:00:00-09:00", "2046-13-01"]),
    SCALAR,
)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
DEEP_VALUE = st.integers(20, 1100).map(lambda n: f"@deep:{n}@")
NASTY = st.one_of(JSON, TIME, DEEP_VALUE)
ID = st.one_of(
    st.integers(-1, 2**64),
    st.integers(0, 10**20).map(str),
    st.floats(0, 1e20),
    st.sampled_from([1.5, "abc", "", "-1", "\u0663", "1" * 30]),
    st.sampled_from([2**31 - 1, 2**31, 2**63, float(2**31), str(2**31)]),  # int4, int8
)
DATE = st.one_of(st.dates().map(str), NEAR_NOW, st.sampled_from(["2046-13-01", "soon", ""]))
# Plausible values of the properties the pipeline reads, by name.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "url": st.just("/products/educare"),
    "product": st.sampled_from(["EDU-CARE", "X" * 64, "X" * 65]),
    "content": st.text(max_size=8),
    "policy_id": st.sampled_from(["P1", "P2", "P" * 64, "P" * 65]),
    "premium": NUMBER,
    "start_date": DATE,
    "maturity_date": DATE,
    "timer_id": ID,
    "message_id": ID,
    "enrollment_id": ID,
    "last_seen_at": TIME,
    "outcome": st.sampled_from(["interested", "do_not_call", "reached", "sold"]),
    "kind": st.sampled_from(["birthday", "policy"]),
    "channel": st.sampled_from(["sms", "email"]),
    "bounce": st.sampled_from(["hard", "soft"]),
    "suspected_bot": st.booleans(),
    "utm_source": st.text(max_size=8),
    "category": st.sampled_from(["claim", "payment", "", "C" * 65]),  # complaint, inquiry
    "text": st.text(max_size=12),
}
NAMED = st.sampled_from(sorted(PLAUSIBLE)).flatmap(
    lambda name: st.tuples(st.just(name), PLAUSIBLE[name])
)
FIELDS = ["event_id", "type", "occurred_at", "visitor_id", "customer_id", "properties", "extra"]


@st.composite
def plausible_event(draw: st.DrawFn) -> dict[str, Any]:
    """A core (or custom) event that is mostly right, sometimes with one field spoiled."""
    etype = draw(st.sampled_from([*CORE_TYPES, "customer_churned", "email_sent", "custom_evt"]))
    event: dict[str, Any] = {"event_id": f"f-{draw(st.uuids())}", "type": etype}
    if draw(st.booleans()):
        event["occurred_at"] = draw(NEAR_NOW)
    who = draw(st.sampled_from(["visitor_id", "customer_id", "both"]))
    if who != "customer_id":
        event["visitor_id"] = draw(st.sampled_from(["v1", "v2", "v3"]))
    if who != "visitor_id" or etype in ("login", "signup"):
        event["customer_id"] = draw(st.sampled_from(["c1", "c2"]))
    properties = {name: draw(PLAUSIBLE[name]) for name in CORE_TYPES.get(etype, {})}
    for name in CHECKS.get(etype, {}):  # what lands in a column, often at its limits
        if draw(st.booleans()):
            properties[name] = draw(PLAUSIBLE[name])
    properties.update(draw(st.lists(NAMED, max_size=4)))
    event["properties"] = properties
    if draw(st.integers(0, 2)) == 0:  # spoil one field or property
        spoilt = draw(st.sampled_from([*FIELDS, "a property"]))
        if spoilt == "a property":
            properties[draw(st.sampled_from(sorted(PLAUSIBLE)) | TEXT)] = draw(NASTY)
        else:
            event[spoilt] = draw(NASTY)
    return event


RANDOM_EVENT = st.fixed_dictionaries(
    {
        "event_id": st.one_of(st.uuids().map(str), TEXT, SCALAR),
        "type": st.one_of(st.sampled_from([*CORE_TYPES, "custom_evt"]), TEXT, SCALAR),
        "properties": st.dictionaries(st.sampled_from(sorted(PLAUSIBLE)) | TEXT, NASTY, max_size=6)
        | JSON,
    },
    optional={
        "occurred_at": TIME,
        "visitor_id": st.one_of(st.sampled_from(["v1", "v2", "v3"]), TEXT, SCALAR),
        "customer_id": st.one_of(st.sampled_from(["c1", "c2"]), TEXT, SCALAR),
        "extra": JSON,
    },
)
# Mostly plausible events, so that many are accepted and go through the pipeline.
EVENT = st.one_of(plausible_event(), plausible_event(), plausible_event(), RANDOM_EVENT, JSON)


def good_event(n: int) -> dict[str, Any]:
    return {
        "event_id": f"good-{uuid.uuid4()}",
        "type": "page_view",
        "visitor_id": f"v{n % 3 + 1}",
        "properties": {"url": "/"},
    }


def encode(body: Any) -> tuple[bytes, int]:
    """The body as JSON text (lone surrogates as escapes), and how deep it nests."""
    text = json.dumps(body, ensure_ascii=True)
    deepest = depth_at(text, len(text), deepest=True)

    def nest(match: re.Match[str]) -> str:
        nonlocal deepest
        depth = int(match.group(1))
        deepest = max(deepest, depth_at(text, match.start()) + depth)
        return '{"n":' * (depth - 1) + "[1]" + "}" * (depth - 1)

    return DEEP.sub(nest, text).encode(), deepest


def depth_at(text: str, end: int, deepest: bool = False) -> int:
    """How many arrays and objects of JSON ``text`` are open at ``end`` (or, ``deepest``,
    the most open at once before it)."""
    depth = most = 0
    quoted = escaped = False
    for char in text[:end]:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "[{":
            depth += 1
            most = max(most, depth)
        elif char in "]}":
            depth -= 1
    return most if deepest else depth


@pytest.fixture
def client(database: str, frozen: Any) -> TestClient:
    return TestClient(create_app())


@pytest.fixture
def api_keys(database: str) -> dict[str, str]:
    return {scope: keys.create_key(scope, f"fuzz-{scope}") for scope in ("ingest", "admin")}


def stored(event_ids: list[str]) -> dict[str, tuple[int, bool, str | None]]:
    """event_id → (row id, processed, last error) of the stored ones."""
    query = select(Event.id, Event.event_id, Event.processed_at, Event.last_error).where(
        Event.event_id.in_(event_ids)  # type: ignore[attr-defined]
    )
    with db.get_engine().connect() as conn:
        return {e: (pk, at is not None, error) for pk, e, at, error in conn.execute(query)}


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    events=st.lists(EVENT, min_size=0, max_size=6),
    goods=st.integers(1, 3),
    scope=st.sampled_from(["ingest", "admin", "admin"]),  # the site's key sends no facts
    single=st.booleans(),
)
def test_no_body_costs_a_good_event_or_a_5xx(
    client: TestClient,
    api_keys: dict[str, str],
    data: st.DataObject,
    events: list[Any],
    goods: int,
    scope: str,
    single: bool,
) -> None:
    batch = list(events)
    good = [good_event(i) for i in range(goods)]
    for ev in good:
        batch.insert(data.draw(st.integers(0, len(batch)), label="at"), ev)
    body: Any = batch[0] if single and len(batch) == 1 else {"events": batch}
    content, deepest = encode(body)
    response = client.post("/v1/events", content=content, headers={"X-API-Key": api_keys[scope]})
    assert response.status_code < 500, response.text
    answer = response.json()
    if "error" in answer:
        # Refused whole only when nested past what a JSON parser reads: 1,024 levels for
        # orjson, Python's recursion limit for the standard library's (a body orjson
        # refuses for a lone surrogate or a number past a double goes to that one).
        assert response.status_code == 400 and "nest" in answer["error"], answer
        assert deepest > 500
        assert stored([g["event_id"] for g in good]) == {}  # refused whole, as it says
        return
    assert response.status_code in (202, 422), answer
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    for r in results:
        assert r["status"] in ("accepted", "duplicate", "rejected"), r
        if r["status"] == "rejected":
            assert r["errors"] and all(isinstance(e, str) and e for e in r["errors"]), r
    for ev, r in zip(batch, results, strict=True):
        if any(ev is g for g in good):
            assert r["status"] == "accepted", r
    accepted = [r["event_id"] for r in results if r["status"] == "accepted"]
    rows = stored(accepted)
    assert set(rows) == set(accepted)
    process_events(sorted(pk for pk, _, _ in rows.values()))
    after = stored(accepted)
    assert {k: error for k, (_, done, error) in after.items() if not done or error} == {}
