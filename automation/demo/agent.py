"""A simulated call-center agent working the queue through the real task routes.

In working hours (weekdays 09–18, business time zone) the agent lists open tasks
(``GET /v1/tasks``), claims one (``POST /v1/tasks/{id}/claim``), calls, and records
the outcome (``POST /v1/tasks/{id}/outcome``), a dozen calls an hour. The agent pitches
what the task's preference report says the customer looked at most (or the maturing
policy), so how the call goes depends on how well that fits the customer; a sale,
an appointment or interest may become a purchase or a renewal later. A service task
(a complaint or an inquiry) is answered resolved, escalated or callback.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from automation import clock
from automation.demo.responses import buy_product, renew_policy
from automation.demo.world import World

CALLS_PER_HOUR = 12
WORK_HOURS = (9, 18)  # local; weekdays only
REACHED = 0.62
DO_NOT_CALL = 0.05  # of the customers reached
# Of the reached, by fit: (base, fit ×) of each outcome, tried in this order.
OUTCOMES = (("sold", 0.03, 0.09), ("appointment", 0.05, 0.12), ("interested", 0.08, 0.18))
FOLLOW_UP = {"sold": 1.0, "appointment": 0.45, "interested": 0.18}  # then buys or renews
SERVICE = (("resolved", 0.78), ("escalated", 0.12), ("callback", 0.10))  # a service task's


def work_queue(world: World, since: datetime, until: datetime) -> int:
    """Work the queue for the agent's hours between ``since`` and ``until`` (local times
    of one day); returns how many calls were made."""
    if until.weekday() >= 5:
        return 0
    start = max(since, until.replace(hour=WORK_HOURS[0], minute=0, second=0, microsecond=0))
    end = min(until, until.replace(hour=WORK_HOURS[1], minute=0, second=0, microsecond=0))
    capacity = round(CALLS_PER_HOUR * (end - start).total_seconds() / 3600)
    if capacity <= 0:
        return 0
    tasks = world.agent_call("GET", f"/v1/tasks?limit={capacity}")["tasks"]
    for task in tasks:
        world.agent_call("POST", f"/v1/tasks/{task['id']}/claim")
        if task["queue"] == "service":
            _answer(world, task)
            continue
        outcome, product = _call(world, task)
        body = {"outcome": outcome, "notes": f"pitched {product or 'renewal'}"}
        world.agent_call("POST", f"/v1/tasks/{task['id']}/outcome", json=body)
        world.did[f"call_{outcome}"] += 1
        _follow_up(world, task, outcome, product)
    return len(tasks)


def _answer(world: World, task: dict[str, Any]) -> None:
    """A complaint or an inquiry answered (drawn from the task's own seed, so the calls'
    draws are the same with or without the service desk)."""
    draw = random.Random(f"service:{task['id']}").random()
    outcome = SERVICE[-1][0]
    for name, share in SERVICE:
        if draw < share:
            outcome = name
            break
        draw -= share
    body = {"outcome": outcome, "notes": f"{task['category']}: answered"}
    world.agent_call("POST", f"/v1/tasks/{task['id']}/outcome", json=body)
    world.did[f"service_{outcome}"] += 1


def _call(world: World, task: dict[str, Any]) -> tuple[str, str | None]:
    rng = world.rng
    person = world.person(task["customer"]["customer_id"])
    product = _pitch(task["report"])
    if person is None or rng.random() >= REACHED:
        return "not_reached", product
    if rng.random() < DO_NOT_CALL:
        return "do_not_call", product
    policy = _maturing_policy(world, task)
    fit = person.fit(world.policy_products.get(policy) if policy else product)
    draw = rng.random()
    for outcome, base, per_fit in OUTCOMES:
        chance = base + per_fit * fit
        if draw < chance:
            return outcome, product
        draw -= chance
    return "reached", product


def _follow_up(world: World, task: dict[str, Any], outcome: str, product: str | None) -> None:
    chance = FOLLOW_UP.get(outcome, 0.0)
    person = world.person(task["customer"]["customer_id"])
    if person is None or world.rng.random() >= chance:
        return
    delay = (
        timedelta(minutes=20) if outcome == "sold" else timedelta(hours=world.rng.uniform(20, 150))
    )
    policy = _maturing_policy(world, task)
    why = f"t{task['id']}"
    if policy:
        world.agenda.add(clock.now() + delay, lambda: renew_policy(world, person, policy, why))
    elif product:
        world.agenda.add(
            clock.now() + delay, lambda: buy_product(world, person, product, why, "call")
        )


def _pitch(report: dict[str, Any]) -> str | None:
    """What the agent talks about: the product the customer looked at most."""
    top = report.get("top_products") or []
    return str(top[0]["product"]) if top else None


def _maturing_policy(world: World, task: dict[str, Any]) -> str | None:
    """The policy a retention call is about: the customer's next one to mature."""
    if task["reason"]["journey_id"] != "maturity-retention":
        return None
    active = [
        p
        for p in task["report"].get("policies") or []
        if p["status"] == "active"
        and p["maturity_date"]
        and p["policy_id"] in world.policy_products
    ]
    first = min(active, key=lambda p: (p["maturity_date"], p["policy_id"]), default=None)
    return str(first["policy_id"]) if first else None
