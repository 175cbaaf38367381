"""Every path of every shipped journey, walked with a frozen clock (SQLite and PostgreSQL).

Each scenario plays events and clock moves through the real engine and checks the
states its customer went through and how the enrollment ended. A second test checks
that the scenarios together take every edge of every shipped journey (each `on`
rule, timer, branch and split arm), and reach its goal and an exit: a new state or
rule in a shipped journey fails it until a scenario walks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from automation.journeys.compiler import CONVERTED, EXITED
from automation.journeys.definition import JourneySpec
from automation.journeys.registry import builtin_files
from automation.journeys.spec import load_file
from tests.journey_world import World, customer_in

MATURITY = date(2026, 11, 22)  # 20 days after the world's start

Step = tuple[Any, ...]  # ("send", type, {props}) or ("wait", days)


@dataclass(frozen=True)
class Scenario:
    journey: str
    start: str  # how the customer enters: see _enter
    steps: tuple[Step, ...]
    path: tuple[str, ...]  # states after "entry", in order
    status: str
    messages: tuple[str, ...] | None = None  # templates sent by this journey, in order


def wait(days: int) -> Step:
    return ("wait", days)


def send(type_: str, **props: Any) -> Step:
    return ("send", type_, props)


CLICK, REPLY = send("email_clicked"), send("sms_replied")
BUY, BUY2 = send("policy_purchased", policy_id="N1"), send("policy_purchased", policy_id="N2")
UNSUB = send("unsubscribed")

RETENTION = [
    Scenario(
        "maturity-retention",
        "retention:holdout",
        (wait(21),),
        ("assign", "holdout", "done"),
        "completed",
        (),
    ),
    Scenario(
        "maturity-retention",
        "retention:offer",
        (wait(1), CLICK, wait(20)),
        ("assign", "offer", "interested", "done"),
        "completed",
        ("retention_offer",),
    ),
    Scenario(
        "maturity-retention",
        "retention:offer",
        (wait(3), REPLY),
        ("assign", "offer", "sms_reminder", "interested"),
        "active",
        ("retention_offer", "retention_reminder"),
    ),
    Scenario(
        "maturity-retention",
        "retention:offer",
        (wait(3), wait(4), send("call_completed", outcome="appointment")),
        ("assign", "offer", "sms_reminder", "consultant_call", "interested"),
        "active",
        ("retention_offer", "retention_reminder", None),
    ),
    Scenario(
        "maturity-retention",
        "retention:offer",
        (wait(3), wait(4), send("call_completed", outcome="not_reached"), wait(14)),
        ("assign", "offer", "sms_reminder", "consultant_call", "done"),
        "completed",
    ),
    Scenario(
        "maturity-retention",
        "retention:offer",
        (wait(1), send("policy_renewed", policy_id="P1")),
        ("assign", "offer", CONVERTED),
        "converted",
    ),
    Scenario(
        "maturity-retention",
        "retention:offer",
        (send("policy_cancelled", policy_id="P1"),),
        ("assign", "offer", EXITED),
        "exited",
    ),
]

MEMBER = ("route", "member_settle")
EMAIL_FIRST = (*MEMBER, "member_channel")  # a customer who reads e-mail
CUSTOMER = ("route", "customer_thanks", "cross_sell_channel")
SMS_FIRST = (*MEMBER, "member_channel", "member_sms_first")  # prefers SMS
SMS_THEN_EMAIL = (*SMS_FIRST, "member_email_after_sms")
LADDER = [
    Scenario(  # no response at all: every nudge, then the member is left as a lead
        "conversion-ladder",
        "member",
        (wait(1), wait(3), wait(4), wait(14), wait(30)),
        (
            *EMAIL_FIRST,
            *("member_recommend", "member_sms", "member_call", "member_interested"),
            "dormant_lead",
        ),
        "completed",
        ("product_recommendation", "product_reminder", None),
    ),
    Scenario(
        "conversion-ladder",
        "member",
        (BUY,),
        (*MEMBER, "customer_thanks"),
        "active",
        ("first_policy_thanks",),
    ),
    Scenario(
        "conversion-ladder",
        "member",
        (wait(1), CLICK, BUY),
        (*EMAIL_FIRST, "member_recommend", "member_interested", "customer_thanks"),
        "active",
    ),
    Scenario(
        "conversion-ladder",
        "member",
        (wait(1), BUY),
        (*EMAIL_FIRST, "member_recommend", "customer_thanks"),
        "active",
    ),
    Scenario(
        "conversion-ladder",
        "member",
        (wait(1), wait(3), REPLY),
        (*EMAIL_FIRST, "member_recommend", "member_sms", "member_interested"),
        "active",
    ),
    Scenario(
        "conversion-ladder",
        "member",
        (wait(1), wait(3), BUY),
        (*EMAIL_FIRST, "member_recommend", "member_sms", "customer_thanks"),
        "active",
    ),
    Scenario(
        "conversion-ladder",
        "member",
        (wait(1), wait(3), wait(4), BUY),
        (*EMAIL_FIRST, "member_recommend", "member_sms", "member_call", "customer_thanks"),
        "active",
    ),
    Scenario(  # a first policy: thanks, then cross-sell escalating to a call, no answer
        "conversion-ladder",
        "customer",
        (wait(14), wait(3), wait(4), wait(14), wait(30)),
        (
            *(*CUSTOMER, "cross_sell", "cross_sell_sms", "cross_sell_call"),
            *("cross_sell_interested", "done"),
        ),
        "completed",
        ("first_policy_thanks", "cross_sell", "cross_sell_reminder", None),
    ),
    Scenario(
        "conversion-ladder",
        "customer",
        (wait(14), CLICK, BUY2),
        (*CUSTOMER, "cross_sell", "cross_sell_interested", CONVERTED),
        "converted",
    ),
    Scenario(
        "conversion-ladder",
        "customer",
        (wait(14), wait(3), REPLY, UNSUB),
        (
            *(*CUSTOMER, "cross_sell", "cross_sell_sms"),
            *("cross_sell_interested", EXITED),
        ),
        "exited",
    ),
    Scenario(  # prefers SMS: the SMS first, then the e-mail, then the call
        "conversion-ladder",
        "member:sms",
        (wait(1), wait(3), wait(4), wait(14), wait(30)),
        (*SMS_THEN_EMAIL, "member_call", "member_interested", "dormant_lead"),
        "completed",
        ("product_reminder", "product_recommendation", None),
    ),
    Scenario(
        "conversion-ladder",
        "member:sms",
        (wait(1), REPLY),
        (*SMS_FIRST, "member_interested"),
        "active",
    ),
    Scenario(
        "conversion-ladder",
        "member:sms",
        (wait(1), BUY),
        (*SMS_FIRST, "customer_thanks"),
        "active",
    ),
    Scenario(
        "conversion-ladder",
        "member:sms",
        (wait(1), wait(3), CLICK),
        (*SMS_THEN_EMAIL, "member_interested"),
        "active",
    ),
    Scenario(
        "conversion-ladder",
        "member:sms",
        (wait(1), wait(3), BUY),
        (*SMS_THEN_EMAIL, "customer_thanks"),
        "active",
    ),
    Scenario(  # a first policy, prefers SMS: the cross-sell SMS first, then the e-mail
        "conversion-ladder",
        "customer:sms",
        (wait(14), wait(3), wait(4), wait(14), wait(30)),
        (
            *(*CUSTOMER, "cross_sell_sms_first", "cross_sell_email_after_sms"),
            *("cross_sell_call", "cross_sell_interested", "done"),
        ),
        "completed",
        ("first_policy_thanks", "cross_sell_reminder", "cross_sell", None),
    ),
    Scenario(
        "conversion-ladder",
        "customer:sms",
        (wait(14), REPLY),
        (*CUSTOMER, "cross_sell_sms_first", "cross_sell_interested"),
        "active",
    ),
    Scenario(
        "conversion-ladder",
        "customer:sms",
        (wait(14), wait(3), CLICK),
        (
            *(*CUSTOMER, "cross_sell_sms_first", "cross_sell_email_after_sms"),
            "cross_sell_interested",
        ),
        "active",
    ),
]

OTHERS = [
    Scenario(
        "welcome",
        "signup",
        (wait(3), wait(1)),
        ("thanks", "tips", "done"),
        "completed",
        ("welcome", "welcome_tips"),
    ),
    Scenario("welcome", "signup", (UNSUB,), ("thanks", EXITED), "exited"),
    Scenario(
        "dormant-reactivation",
        "dormant",
        (wait(7), wait(7)),
        ("route", "comeback", "reminder", "done"),
        "completed",
        ("reactivation", "reactivation_sms"),
    ),
    Scenario(
        "dormant-reactivation",
        "dormant",
        (wait(7), send("login")),
        ("route", "comeback", "reminder", CONVERTED),
        "converted",
    ),
    Scenario("dormant-reactivation", "dormant", (UNSUB,), ("route", "comeback", EXITED), "exited"),
    Scenario(  # prefers SMS: the SMS first, then the e-mail
        "dormant-reactivation",
        "dormant:sms",
        (wait(7), wait(7)),
        ("route", "sms_first", "email_after_sms", "done"),
        "completed",
        ("reactivation_sms", "reactivation"),
    ),
    *(
        Scenario(
            "anniversary-greeting",
            f"anniversary:{kind}",
            (wait(1),),
            ("route", state, "done"),
            "completed",
            (template,),
        )
        for kind, state, template in [
            ("birthday", "birthday", "birthday_greeting"),
            ("policy", "policy_anniversary", "policy_anniversary"),
            ("signup", "signup_anniversary", "signup_anniversary"),
        ]
    ),
    Scenario(
        "anniversary-greeting",
        "anniversary:birthday",
        (UNSUB,),
        ("route", "birthday", EXITED),
        "exited",
    ),
]
CALLED = {"journey_id": "consultation"}  # a consultation's own call, not another journey's
SERVICE = [
    Scenario(  # called, talked, nothing bought: a recommendation
        "consultation",
        "consultation",
        (send("call_completed", outcome="appointment", **CALLED), wait(3), wait(14)),
        ("call", "follow_up", "recommend", "done"),
        "completed",
        (None, "product_recommendation"),
    ),
    Scenario(  # nobody answered, a second call in business hours, then a purchase
        "consultation",
        "consultation",
        (
            send("call_completed", outcome="not_reached", **CALLED),
            wait(1),
            send("call_completed", outcome="interested", **CALLED),
            BUY,
        ),
        ("call", "call_again", "second_call", "follow_up", CONVERTED),
        "converted",
        (None, None),
    ),
    Scenario(
        "consultation",
        "consultation",
        (
            send("call_completed", outcome="not_reached", **CALLED),
            wait(1),
            send("call_completed", outcome="do_not_call", **CALLED),
        ),
        ("call", "call_again", "second_call", "done"),
        "completed",
    ),
    Scenario(
        "consultation",
        "consultation",
        (send("call_completed", outcome="not_reached", **CALLED), wait(1), wait(3)),
        ("call", "call_again", "second_call", "follow_up"),
        "active",
    ),
    Scenario(
        "consultation",
        "consultation",
        (send("call_completed", outcome="sold", **CALLED),),
        ("call", "done"),
        "completed",
    ),
    Scenario(  # never answered; asked again after the talk and after the recommendation
        "consultation",
        "consultation",
        (
            wait(3),
            send("consultation_request"),
            wait(3),
            wait(3),
            send("consultation_request"),
            UNSUB,
        ),
        ("call", "follow_up", "call", "follow_up", "recommend", "call", EXITED),
        "exited",
    ),
    Scenario(
        "service-desk",
        "complaint",
        (send("service_completed", outcome="resolved", category="claim"),),
        ("desk", "done"),
        "completed",
        (None,),
    ),
    Scenario(
        "service-desk",
        "complaint",
        (
            send("service_completed", outcome="callback", category="claim"),
            send("service_completed", outcome="resolved", category="claim"),
        ),
        ("desk", "callback", "done"),
        "completed",
        (None, None),
    ),
    Scenario("service-desk", "complaint", (wait(30),), ("desk", "done"), "completed"),
    Scenario(
        "service-desk",
        "complaint",
        (send("service_completed", outcome="callback", category="claim"), wait(30)),
        ("desk", "callback", "done"),
        "completed",
    ),
    Scenario("service-desk", "complaint", (UNSUB,), ("desk", EXITED), "exited"),
]
ANSWER = send("consent_changed", kind="ad", granted=True, source="consent_page")
ASK = "consent_reconfirm"
CONSENT = [
    Scenario(  # answered on the page after the e-mail
        "consent-reconfirm",
        "consent:both",
        (ANSWER,),
        ("route", "ask_email", CONVERTED),
        "converted",
        (ASK,),
    ),
    Scenario(  # never answered: e-mail, SMS, a reminder e-mail, then the consent lapses
        "consent-reconfirm",
        "consent:both",
        (wait(3), wait(7), wait(14)),
        ("route", "ask_email", "sms_allowed", "ask_sms", "remind", "remind_email", "no_answer"),
        "completed",
        (ASK, ASK, ASK),
    ),
    Scenario(  # no SMS consent: no SMS step
        "consent-reconfirm",
        "consent:email",
        (wait(3), wait(14)),
        ("route", "ask_email", "sms_allowed", "remind", "remind_email", "no_answer"),
        "completed",
        (ASK, ASK),
    ),
    Scenario(  # no e-mail: asked and reminded by SMS
        "consent-reconfirm",
        "consent:sms",
        (wait(7), wait(14)),
        ("route", "ask_sms", "remind", "remind_sms", "no_answer"),
        "completed",
        (ASK, ASK),
    ),
    Scenario("consent-reconfirm", "consent:none", (), ("route", "no_answer"), "completed", ()),
    Scenario(
        "consent-notice",
        "notice:email",
        (wait(1), wait(1)),
        ("settle", "route", "by_email", "done"),
        "completed",
        ("consent_result",),
    ),
    Scenario(
        "consent-notice",
        "notice:sms",
        (wait(1), wait(1)),
        ("settle", "route", "by_sms", "done"),
        "completed",
        ("consent_result",),
    ),
    Scenario(
        "consent-notice",
        "notice:none",
        (wait(1),),
        ("settle", "route", "done"),
        "completed",
        (),
    ),
]
SCENARIOS = RETENTION + LADDER + OTHERS + SERVICE + CONSENT


def _enter(world: World, start: str) -> str:
    """Create the scenario's customer and the event that enters them; return their id."""
    if start.startswith("retention:"):
        cid = world.customer(customer_in(start.split(":")[1]))
        world.policy("P1", cid, MATURITY)
        world.send("policy_maturity_approaching", cid, policy_id="P1")
    elif start.startswith("member"):
        cid = world.customer("M1", lifecycle_stage="member", attributes=_prefers(start))
        world.send("signup", cid)
    elif start.startswith("customer"):
        cid = world.customer("M1", lifecycle_stage="member", attributes=_prefers(start))
        world.send("policy_purchased", cid, policy_id="N0")
    elif start == "signup":
        cid = world.customer("M1", lifecycle_stage="member")
        world.send("signup", cid)
    elif start.startswith("dormant"):
        cid = world.customer("D1", attributes=_prefers(start))
        world.send("customer_dormant", cid)
    elif start.startswith(("consent:", "notice:")):
        reach = start.split(":")[1]
        cid = world.customer(
            "K1",
            mobile="010-1234-5678",
            email=None if reach in ("sms", "none") else "k1@example.kr",
            sms_consent=reach in ("both", "sms"),
            email_consent=reach != "none",
        )
        if start.startswith("consent:"):
            world.send("ad_consent_expiring", cid, given_at="2024-12-01T00:00:00+00:00")
        else:
            world.send("consent_changed", cid, kind="call", granted=False, source="console")
    elif start == "consultation":
        cid = world.customer("S1", mobile="010-1234-5678")
        world.send("consultation_request", cid)
    elif start == "complaint":
        cid = world.customer("S1", mobile="010-1234-5678")
        world.send("complaint", cid, category="claim", text="청구가 늦습니다")
    else:
        cid = world.customer("A1")
        world.send("customer_anniversary", cid, kind=start.split(":")[1])
    return cid


def _prefers(start: str) -> dict[str, Any]:
    """``member:sms`` → a customer whose preferred channel is SMS (conversion-ladder and
    dormant-reactivation send them the SMS first)."""
    return {"preferred_channel": "sms"} if start.endswith(":sms") else {}


def _label(s: Scenario) -> str:
    return f"{s.journey}:{'>'.join(p.strip('_') for p in s.path[1:])}:{s.status}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_label)
def test_scenario(database: str, scenario: Scenario) -> None:
    world = World()
    cid = _enter(world, scenario.start)
    for step in scenario.steps:
        if step[0] == "wait":
            world.after(days=step[1])
        else:
            world.send(step[1], cid, **step[2])
    enrollment = world.enrollment(scenario.journey, cid)
    assert world.path(enrollment.id) == list(scenario.path)
    assert enrollment.status == scenario.status
    if scenario.messages is not None:
        sent = [t for _, t in world.messages(cid, scenario.journey)]
        assert sent == list(scenario.messages)


def _edges(spec: JourneySpec) -> set[tuple[str, str]]:
    edges: set[tuple[str, str]] = set()
    for state in spec.states.values():
        targets = [r.to for r in state.on] + [t.to for t in state.timers]
        targets += [b.to for b in state.branch] + [a.to for a in state.split]
        edges |= {(state.name, t) for t in targets}
    return edges


def test_the_scenarios_walk_every_edge_of_every_shipped_journey() -> None:
    walked: dict[str, set[tuple[str, str]]] = {}
    for s in SCENARIOS:
        walked.setdefault(s.journey, set()).update(zip(s.path, s.path[1:], strict=False))
    specs = {spec.journey_id: spec for spec in map(load_file, builtin_files())}
    assert set(walked) == set(specs), "a shipped journey has no scenario"
    for journey_id, spec in specs.items():
        missing = _edges(spec) - walked[journey_id]
        assert not missing, f"{journey_id}: no scenario walks {sorted(missing)}"
        ends = {b for _, b in walked[journey_id]}
        if spec.goal:
            assert CONVERTED in ends, f"{journey_id}: no scenario reaches the goal"
        if spec.exits:
            assert EXITED in ends, f"{journey_id}: no scenario exits"
