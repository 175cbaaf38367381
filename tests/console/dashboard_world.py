"""The dashboard tests' world: customers, events, journeys (one with a goal and a
holdout, one without) and messages whose every count the tests work out; and, apart
(``build_offers``), offers shown, clicked and converted under published offer rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum

from automation import clock
from automation.db import session_scope
from automation.events.ingest import ingest
from automation.journeys import yamlmap
from automation.models import (
    Customer,
    Enrollment,
    Journey,
    JourneyVersion,
    Message,
    Policy,
    Transition,
)
from automation.personalize import shelf, store, tokens
from automation.segments.registry import publish_builtin
from automation.worker.process import process_events

NOW = pendulum.datetime(2026, 11, 23, 10, 0, tz="Asia/Seoul")
WEEK = "start=2026-11-16&end=2026-11-22"  # the period the counts below are about
IN = datetime(2026, 11, 17, 1, tzinfo=UTC)  # 10:00 in Seoul on the period's second day
DAY = timedelta(days=1)
BOM = "\ufeff"


def _ev(
    n: int, type_: str, at: str, *, v: str | None = None, c: str | None = None, **props: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"d{n:02d}",
        "type": type_,
        "occurred_at": f"2026-{at}+09:00",
        "properties": {"url": "/", **props} if type_ == "page_view" else props,
    }
    event.update({k: x for k, x in (("visitor_id", v), ("customer_id", c)) if x})
    return event


# 11-16 – 11-22: visitors M1 M2 F1 R2 va (5); members M1 M2 F1 R2 (4);
# first policy F1 R2 (2); repeat R2 (1: a second policy after an imported one).
# 11-09 – 11-15 (the period before): visitors vb1 vb2 M1 (3); members M1 (1); 0; 0.
LOG = [
    _ev(1, "page_view", "11-10T10:00:00", v="vb1"),
    _ev(2, "page_view", "11-12T10:00:00", v="vb2"),
    _ev(3, "login", "11-14T10:00:00", v="vm1", c="M1"),
    _ev(4, "page_view", "11-17T10:00:00", v="vm1", c="M1"),
    _ev(5, "page_view", "11-17T11:00:00", v="v2"),
    _ev(6, "signup", "11-17T11:05:00", v="v2", c="M2"),
    _ev(7, "login", "11-18T09:00:00", v="vf1", c="F1"),
    _ev(8, "policy_purchased", "11-18T09:30:00", c="F1", policy_id="P-F1"),
    _ev(9, "policy_purchased", "11-20T10:00:00", c="R2", policy_id="P-R2b"),
    _ev(10, "page_view", "11-20T12:00:00", v="va"),
]
FUNNEL = {"visitor": "5", "member": "4", "first_policy": "2", "repeat": "1"}
BEFORE = {"visitor": "3", "member": "1", "first_policy": "0", "repeat": "0"}

RETENTION = """\
journey: retention
name: 만기 유지
entry: {on: policy_maturity_approaching}
goal: {on: policy_purchased}
start: assign
states:
  assign:
    split:
      - {share: 10, to: holdout, control: true}
      - {share: 90, to: offer}
  holdout:
    after: {wait: 20d, to: done}
  offer:
    after: {wait: 3d, to: done}
  done:
    end: true
"""
WELCOME = """\
journey: welcome
name: 환영
entry: {on: signup}
start: thanks
states:
  thanks:
    after: {wait: 3d, to: done}
  done:
    end: true
"""


def _version(id_: int, source: str) -> None:
    data, _ = yamlmap.load(source)
    spec = json.loads(json.dumps(data))
    with session_scope() as s:
        s.add(Journey(journey_id=data["journey"], name=data["name"]))
        s.flush()
        s.add(
            JourneyVersion(
                id=id_,
                journey_id=data["journey"],
                version=1,
                spec=spec,
                source=source,
                checksum="c",
            )
        )
        s.flush()
        journey = s.get(Journey, data["journey"])
        assert journey is not None
        journey.latest_version_id = id_


def _enroll(n: int, version_id: int, journey: str, path: list[str], **fields: Any) -> None:
    """Enrollment of customer J<n> along ``path``, a day a step from ``IN``."""
    with session_scope() as s:
        s.add(Customer(customer_id=f"J{n}", name=f"고객{n}"))
        s.flush()
        status = fields.pop("status", "active")
        e = Enrollment(
            journey_id=journey,
            version_id=version_id,
            customer_id=f"J{n}",
            state=path[-1],
            status=status,
            entered_at=IN,
            exited_at=None if status == "active" else IN + (len(path) - 1) * DAY,
            **fields,
        )
        s.add(e)
        s.flush()
        assert e.id is not None
        for i, state in enumerate(path):
            s.add(
                Transition(
                    enrollment_id=e.id,
                    version_id=version_id,
                    from_state=path[i - 1] if i else None,
                    to_state=state,
                    trigger="entry" if i == 0 else "timer:after",
                    at=IN + i * DAY,
                )
            )


def _message(n: int, template: str, channel: str, status: str, reason: str | None = None) -> None:
    with session_scope() as s:
        s.add(Customer(customer_id=f"K{n}", name=f"수신{n}"))
        s.flush()
        s.add(
            Message(
                idempotency_key=f"k{n}",
                journey_id="welcome",
                version_id=2,
                state="thanks",
                customer_id=f"K{n}",
                channel=channel,
                template=template,
                status=status,
                reason=reason,
                created_at=IN,
                sent_at=IN + timedelta(minutes=1) if status == "sent" else None,
            )
        )


def build_world() -> None:
    clock.freeze(NOW)
    publish_builtin()
    with session_scope() as s:
        s.add(Customer(customer_id="M1", joined_at=datetime(2025, 1, 1, tzinfo=UTC)))
        s.add(Customer(customer_id="F1", joined_at=datetime(2024, 5, 1, tzinfo=UTC)))
        s.add(
            Customer(
                customer_id="R2",
                joined_at=datetime(2023, 1, 1, tzinfo=UTC),
                first_policy_at=datetime(2025, 3, 1, tzinfo=UTC),
                lifecycle_stage="customer",
            )
        )
        s.flush()
        s.add(Policy(policy_id="P-R2a", customer_id="R2"))
    result = ingest(LOG, source="test", publish=False)
    assert result.rejected == 0, result.summary()
    process_events(result.stored_ids)
    # retention: treated 7 (2 converted), holdout 4 (1 converted): +3.6 pt, too small.
    _version(1, RETENTION)
    for n in range(7):
        converted = n < 2
        path = ["assign", "offer", *(["__converted__"] if converted else [])]
        _enroll(n, 1, "retention", path, status="converted" if converted else "active")
    for n in range(7, 11):
        converted = n == 7
        path = ["assign", "holdout", *(["__converted__"] if converted else [])]
        status = "converted" if converted else "active"
        _enroll(n, 1, "retention", path, status=status, control=True)
    # welcome: no goal; 3 entered.
    _version(2, WELCOME)
    for n in range(11, 14):
        _enroll(n, 2, "welcome", ["thanks"])
    # welcome's messages: 3 e-mails sent, 2 suppressed (no consent); 1 SMS over its cap.
    for n in range(3):
        _message(n, "welcome_mail", "email", "sent")
    for n in range(3, 5):
        _message(n, "welcome_mail", "email", "suppressed", "no_email_consent")
    _message(5, "welcome_sms", "sms", "suppressed", "cap_sms_week")


OFFER_RULES = """\
holdout: 10
rules:
  - rule: single-twenties
    name: 미혼 20대 → 연금저축
    when: {customer.marital_status: single}
    slot: hero
    offers:
      - product: PENSION-SAVINGS
  - rule: anonymous-signup
    name: 비회원 → 회원가입
    audience: anonymous
    slot: side
    offers:
      - offer: signup
        text: 회원가입하고 맞춤 보장 분석 받기
        url: /signup
"""


def _offer(
    n: int, type_: str, at: str, rule: str, *, c: str = "", v: str = "", holdout: bool = False
) -> dict[str, Any]:
    """An ``offer_viewed`` / ``offer_clicked`` (``rule`` set) or a conversion (``rule`` "")
    on 2026-``at`` in Seoul, its token signed for the person as the site would."""
    props: dict[str, Any] = {}
    if rule:
        issued = datetime.fromisoformat(f"2026-{at}+09:00")
        kind, key, slot = (
            ("offer", "signup", "side") if v else ("product", "PENSION-SAVINGS", "hero")
        )
        who = c or f"v:{v}"
        props["token"] = tokens.sign(tokens.OfferToken(rule, kind, key, slot, holdout, who, issued))
    event: dict[str, Any] = {
        "event_id": f"o{n:03d}",
        "type": type_,
        "occurred_at": f"2026-{at}+09:00",
        "properties": props,
    }
    event.update({k: x for k, x in (("visitor_id", v), ("customer_id", c)) if x})
    return event


def build_offers() -> None:
    """Offers in the week ``WEEK`` names, under ``OFFER_RULES``:

    - single-twenties: O0–O39 shown (40; O0–O4 twice: 45 views), O0–O9 clicked (10; O0
      twice: 11 clicks), O0–O11 signed up the day after (12, 30.0%), 10 of them after a
      click (credited);
    - the holdout: H0–H29 shown the default content (30), H0–H2 signed up (3, 10.0%);
    - anonymous-signup: visitors a0–a4 (5), a0 and a1 clicked, a0 signed up as A0;
    - popular (an item no rule made): visitors p0 and p1, nothing more.
    """
    clock.freeze(NOW)
    shelf.forget()
    store.forget()  # the rules in force are cached per process: this test's database
    store.publish_text(OFFER_RULES, "offers.yaml", by="test")
    n = iter(range(1000))
    rule = "single-twenties"
    log = [_offer(next(n), "offer_viewed", "11-18T10:00:00", rule, c=f"O{i}") for i in range(40)]
    log += [_offer(next(n), "offer_viewed", "11-18T11:00:00", rule, c=f"O{i}") for i in range(5)]
    log += [_offer(next(n), "offer_clicked", "11-18T10:05:00", rule, c=f"O{i}") for i in range(10)]
    log += [_offer(next(n), "offer_clicked", "11-18T11:05:00", rule, c="O0")]
    log += [_offer(next(n), "signup", "11-19T10:00:00", "", c=f"O{i}") for i in range(12)]
    log += [
        _offer(next(n), "offer_viewed", "11-18T10:00:00", rule, c=f"H{i}", holdout=True)
        for i in range(30)
    ]
    log += [_offer(next(n), "signup", "11-19T10:00:00", "", c=f"H{i}") for i in range(3)]
    rule = "anonymous-signup"
    log += [_offer(next(n), "offer_viewed", "11-18T10:00:00", rule, v=f"a{i}") for i in range(5)]
    log += [_offer(next(n), "offer_clicked", "11-18T10:05:00", rule, v=f"a{i}") for i in range(2)]
    log += [_offer(next(n), "signup", "11-18T10:10:00", "", v="a0", c="A0")]
    log += [_offer(next(n), "offer_viewed", "11-18T10:00:00", "popular", v=f"p{i}") for i in (0, 1)]
    result = ingest(log, source="test", publish=False)
    assert result.rejected == 0, result.summary()
    process_events(result.stored_ids)
