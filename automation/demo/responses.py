"""How the synthetic customers answer what the engine sends, and a simulated agent.

Probabilities depend on how well the message fits the person: a retention offer or
a recommendation is clicked more often by someone whose interests match it.
"""

from __future__ import annotations

import random
from typing import Any

from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.demo.catalog import Person
from automation.ingest import ingest
from automation.models import Message

CLICK = {"email": 0.18, "sms": 0.10}
FIT_BONUS = 0.12
RENEW_AFTER_CLICK = 0.35
BUY_AFTER_CLICK = 0.12
CALL_OUTCOMES = [
    ("not_reached", 40),
    ("reached", 25),
    ("interested", 20),
    ("appointment", 10),
    ("do_not_call", 5),
]
FITTING = {"retention_offer", "retention_reminder", "product_recommendation", "cross_sell"}


def respond(rng: random.Random, people: dict[str, Person], since_id: int) -> int:
    """Answer every message decided after ``since_id``; returns the highest id seen."""
    with session_scope() as s:
        messages = list(
            s.exec(select(Message).where(col(Message.id) > since_id).order_by(col(Message.id)))
        )
    events: list[dict[str, Any]] = []
    for m in messages:
        person = people.get(m.customer_id)
        if person is not None:
            events += _answer(rng, m, person)
    for start in range(0, len(events), 1000):
        ingest(events[start : start + 1000], source="demo")
    return max((m.id or 0 for m in messages), default=since_id)


def _answer(rng: random.Random, m: Message, person: Person) -> list[dict[str, Any]]:
    if m.channel == "call":
        outcome = rng.choices([o for o, _ in CALL_OUTCOMES], [w for _, w in CALL_OUTCOMES])[0]
        return [_event(m, "call_completed", {"outcome": outcome})]
    chance = CLICK.get(m.channel, 0) + (
        FIT_BONUS if m.template in FITTING and person.group == "table2" else 0
    )
    if rng.random() >= chance:
        return []
    answer = [_event(m, "email_clicked" if m.channel == "email" else "sms_replied", {})]
    policy_id = m.payload.get("policy_id")
    if policy_id and rng.random() < RENEW_AFTER_CLICK:
        answer.append(_event(m, "policy_renewed", {"policy_id": policy_id}, suffix="renew"))
    elif not policy_id and rng.random() < BUY_AFTER_CLICK:
        answer.append(
            _event(
                m,
                "policy_purchased",
                {"policy_id": f"P-m{m.id}", "product": "CHILD-CI"},
                suffix="buy",
            )
        )
    return answer


def _event(m: Message, type_: str, props: dict[str, Any], suffix: str = "") -> dict[str, Any]:
    return {
        "event_id": f"demo-response:{m.id}:{type_}{suffix}",
        "type": type_,
        "customer_id": m.customer_id,
        "occurred_at": clock.now().isoformat(),
        "properties": {**props, "enrollment_id": m.enrollment_id, "message_id": m.id},
    }
