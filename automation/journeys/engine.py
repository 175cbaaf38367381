"""The journey engine: events in, transitions and messages out. The only place that
decides what a customer gets next.

A pipeline step (see ``processing.py``): for each event it first moves the
customer's active enrollments (goal, exit, the state's rules, or a due timer), then
enters the customer into journeys whose entry the event triggers. Everything runs
in the event's transaction, so an event processed twice changes nothing twice.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session, col, select

from automation import clock
from automation.conditions import Facts
from automation.errors import AutomationError
from automation.journeys import actions, journal, registry
from automation.journeys.compiler import CONVERTED, EXITED, Compiled
from automation.journeys.timing import due_at
from automation.models import (
    Customer,
    Enrollment,
    EnrollmentStatus,
    Event,
    Journey,
    JourneyStatus,
    Policy,
    Timer,
)
from automation.processing import add_step
from automation.profile import locked_customer
from automation.sql import among

MAX_IMMEDIATE_MOVES = 50


class JourneyLoop(AutomationError):
    """Branches and splits moved a customer around without ever waiting."""


def prepare(session: Session, events: list[Event]) -> None:
    """Once per chunk: the journeys table, and the chunk's enrollments locked in id order."""
    session.info["journeys"] = {j.journey_id: j for j in session.exec(select(Journey))}
    session.info.pop("entries", None)
    customers = sorted({e.customer_id for e in events if e.customer_id})
    active: dict[str, list[Enrollment]] = {c: [] for c in customers}
    session.info["active"] = active
    if customers:
        dialect = session.get_bind().dialect.name
        query = (
            select(Enrollment)
            .where(
                among(dialect, col(Enrollment.customer_id), customers),
                Enrollment.status == "active",
            )
            .order_by(col(Enrollment.id))
            .with_for_update()
        )
        for enrollment in session.exec(query):
            active[enrollment.customer_id].append(enrollment)
    journeys = session.info["journeys"].values()
    registry.remember_versions(
        session,
        {e.version_id for found in active.values() for e in found}
        | {j.latest_version_id for j in journeys if j.latest_version_id},
    )


def apply_journeys(session: Session, event: Event) -> None:
    """Move and enter the event's customer (a pipeline step)."""
    if not event.customer_id:
        return
    customer = locked_customer(session, event.customer_id)
    if customer is None:
        return
    if event.type == "timer_due":
        _fire_timer(session, event, customer)
        return
    for enrollment in _active(session, customer.customer_id):
        _advance(session, enrollment, event, customer)
    for compiled in _entries(session).get(event.type, ()):
        _enter(session, compiled, event, customer)


add_step(apply_journeys, prepare=prepare, rank=50)


# --- moving enrollments -------------------------------------------------------------


def _advance(session: Session, enrollment: Enrollment, event: Event, customer: Customer) -> None:
    compiled = registry.compiled(session, enrollment.version_id)
    if not _names(enrollment, event) or event.properties.get("suspected_bot") is True:
        return  # a mail scanner's pre-fetch is kept as an event but moves nobody
    facts = _facts(session, customer, event, enrollment)
    # A goal counts whatever policy it names (buying any policy converts); exits and
    # state rules only for the enrollment's own key.
    triggers = [f"goal:{event.type}"]
    if _same_key(compiled, enrollment, event):
        triggers.append(f"exit:{event.type}")
        if _journeys(session)[enrollment.journey_id].status == JourneyStatus.ACTIVE:
            triggers.append(f"event:{event.type}")
    for trigger in triggers:
        target = compiled.fire(trigger, enrollment.state, facts=facts)
        if target is not None:
            move(session, compiled, enrollment, target, trigger, event, customer)
            return


def _names(enrollment: Enrollment, event: Event) -> bool:
    """An event naming an enrollment (a response to its message) concerns only that one."""
    named = event.properties.get("enrollment_id")
    return named is None or str(named) == str(enrollment.id)


def _same_key(compiled: Compiled, enrollment: Enrollment, event: Event) -> bool:
    """An event carrying the journey's key (a policy) concerns only that key's enrollment."""
    key = compiled.spec.entry.key
    return not (key and key in event.properties and str(event.properties[key]) != enrollment.key)


def _fire_timer(session: Session, event: Event, customer: Customer) -> None:
    timer = session.get(Timer, int(event.properties["timer_id"]))
    if timer is None:
        return
    enrollment = session.get(Enrollment, timer.enrollment_id)
    if (
        enrollment is None
        or enrollment.status != EnrollmentStatus.ACTIVE
        or enrollment.step != timer.step
    ):
        return  # the customer moved on before the timer came due
    if _journeys(session)[enrollment.journey_id].status != JourneyStatus.ACTIVE:
        return
    compiled = registry.compiled(session, enrollment.version_id)
    target = compiled.fire(f"timer:{timer.kind}", enrollment.state)
    if target is not None:
        move(session, compiled, enrollment, target, f"timer:{timer.kind}", event, customer)


def move(
    session: Session,
    compiled: Compiled,
    enrollment: Enrollment,
    target: str,
    trigger: str,
    event: Event | None,
    customer: Customer,
    depth: int = 0,
) -> None:
    """Move an enrollment to ``target``: log it, then enter the state (or finish)."""
    if depth > MAX_IMMEDIATE_MOVES:
        raise JourneyLoop(
            f"{compiled.spec.journey_id}: more than {MAX_IMMEDIATE_MOVES} moves without waiting"
        )
    now = clock.now()
    journal.append(
        session,
        "transitions",
        {
            "enrollment_id": enrollment.id,
            "version_id": enrollment.version_id,
            "from_state": enrollment.state,
            "to_state": target,
            "trigger": trigger,
            "event_id": event.id if event else None,
            "at": now,
        },
    )
    enrollment.state = target
    enrollment.step += 1
    enrollment.state_entered_at = now
    if target in (CONVERTED, EXITED):
        status = EnrollmentStatus.CONVERTED if target == CONVERTED else EnrollmentStatus.EXITED
        finish(session, enrollment, status, event)
        return
    enter_state(session, compiled, enrollment, event, customer, depth)


def enter_state(
    session: Session,
    compiled: Compiled,
    enrollment: Enrollment,
    event: Event | None,
    customer: Customer,
    depth: int = 0,
) -> None:
    """Do the state's actions, set its timers, and take its branch or split at once."""
    state = compiled.spec.state(enrollment.state)
    if enrollment not in session:  # add() walks the cascades even for a row it holds
        session.add(enrollment)
    if enrollment.id is None:
        session.flush()  # the enrollment's id names its messages and timers
    for action in state.actions:
        actions.run(session, compiled, enrollment, action, event, customer)
        if enrollment.status != EnrollmentStatus.ACTIVE:
            return  # handed to another journey
    _set_timers(session, compiled, enrollment, customer)
    if state.end:
        finish(session, enrollment, EnrollmentStatus.COMPLETED, event)
        return
    immediate = None
    if state.branch:
        immediate = (
            "branch",
            compiled.fire("branch", state.name, facts=_facts(session, customer, event, enrollment)),
        )
    elif state.split:
        immediate = (
            "split",
            compiled.fire(
                "split", state.name, bucket=bucket(enrollment.journey_id, customer.customer_id)
            ),
        )
        enrollment.variant = immediate[1]
        enrollment.control = any(a.control and a.to == immediate[1] for a in state.split)
    if immediate and immediate[1]:
        move(session, compiled, enrollment, immediate[1], immediate[0], event, customer, depth + 1)


def finish(
    session: Session, enrollment: Enrollment, status: EnrollmentStatus, event: Event | None
) -> None:
    """End an enrollment; its pending timers will find it gone and do nothing."""
    enrollment.status = status.value
    enrollment.exited_at = clock.now()
    if event is not None and status != EnrollmentStatus.COMPLETED:
        enrollment.outcome_event_id = event.id
    if status == EnrollmentStatus.CONVERTED:
        from automation.attribution import credited

        if found := credited(session, event):  # the message that led there, if any engaged
            enrollment.context = {**enrollment.context, "attribution": found}
    session.add(enrollment)


def bucket(journey_id: str, customer_id: str) -> int:
    """0–99, the same for a customer and a journey on every machine and every run."""
    digest = hashlib.sha256(f"{journey_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def _set_timers(
    session: Session, compiled: Compiled, enrollment: Enrollment, customer: Customer
) -> None:
    state = compiled.spec.state(enrollment.state)
    if not state.timers:
        return
    values = _date_values(session, enrollment, customer)
    for timer in state.timers:
        due = due_at(timer, enrollment.state_entered_at or clock.now(), values, customer.timezone)
        if due is not None:
            journal.append(
                session,
                "timers",
                {
                    "enrollment_id": enrollment.id,
                    "step": enrollment.step,
                    "kind": timer.kind,
                    "target": timer.to,
                    "due_at": due,
                    "fired_at": None,
                    "created_at": clock.now(),
                },
            )


def _date_values(session: Session, enrollment: Enrollment, customer: Customer) -> dict[str, Any]:
    values: dict[str, Any] = {
        "customer.birth_date": customer.birth_date,
        "customer.joined_at": customer.joined_at,
    }
    policy_id = enrollment.context.get("policy_id")
    policy = session.get(Policy, policy_id) if policy_id else None
    if policy is not None:
        values.update(
            {"policy.maturity_date": policy.maturity_date, "policy.start_date": policy.start_date}
        )
    values.update(
        {f"event.{k}": v for k, v in enrollment.context.get("entry_properties", {}).items()}
    )
    return values


# --- entering journeys --------------------------------------------------------------


def _enter(session: Session, compiled: Compiled, event: Event, customer: Customer) -> None:
    entry = compiled.spec.entry
    key = ""
    if entry.key:
        if event.properties.get(entry.key) is None:
            return
        key = str(event.properties[entry.key])
    policy_id = key if entry.key == "policy_id" else event.properties.get("policy_id")
    facts = Facts(
        customer=customer, now=clock.now(), event=event, session=session, policy_id=policy_id
    )
    if not entry.when.matches(facts) or not may_enter(session, compiled, customer.customer_id, key):
        return
    enroll(session, compiled, customer, key, event, {"policy_id": policy_id} if policy_id else {})


def enroll(
    session: Session,
    compiled: Compiled,
    customer: Customer,
    key: str,
    event: Event | None,
    context: dict[str, Any],
) -> Enrollment:
    """Put a customer at the start of a version and run the start state."""
    now = clock.now()
    if event is not None:
        context = {**context, "entry_properties": dict(event.properties)}
    enrollment = Enrollment(
        journey_id=compiled.spec.journey_id,
        version_id=compiled.version_id,
        customer_id=customer.customer_id,
        key=key,
        state=compiled.spec.start,
        context=context,
        entry_event_id=event.id if event else None,
        entered_at=now,
        state_entered_at=now,
    )
    _active(session, customer.customer_id)
    session.add(enrollment)
    session.flush()
    session.info["active"][customer.customer_id].append(enrollment)
    journal.append(
        session,
        "transitions",
        {
            "enrollment_id": enrollment.id,
            "version_id": compiled.version_id,
            "from_state": None,
            "to_state": compiled.spec.start,
            "trigger": "entry",
            "event_id": event.id if event else None,
            "at": now,
        },
    )
    enter_state(session, compiled, enrollment, event, customer)
    return enrollment


def may_enter(session: Session, compiled: Compiled, customer_id: str, key: str) -> bool:
    entry = compiled.spec.entry
    earlier = list(
        session.exec(
            select(Enrollment).where(
                Enrollment.journey_id == compiled.spec.journey_id,
                Enrollment.customer_id == customer_id,
                Enrollment.key == key,
            )
        )
    )
    if any(e.status == EnrollmentStatus.ACTIVE for e in earlier):
        return False
    if entry.reentry == "once":
        return not earlier
    if entry.reentry == "after" and earlier and entry.cooldown is not None:
        last = max(e.exited_at or e.entered_at or clock.now() for e in earlier)
        return clock.now() - last >= entry.cooldown
    return True


# --- helpers ------------------------------------------------------------------------


def _journeys(session: Session) -> dict[str, Journey]:
    if "journeys" not in session.info:
        session.info["journeys"] = {j.journey_id: j for j in session.exec(select(Journey))}
    journeys: dict[str, Journey] = session.info["journeys"]
    return journeys


def _entries(session: Session) -> dict[str, list[Compiled]]:
    """Event type → the active journeys' newest versions that it enters, in journey order
    (once per chunk: looking at every journey for every event grew with the journeys)."""
    entries: dict[str, list[Compiled]] | None = session.info.get("entries")
    if entries is None:
        entries = {}
        for journey in _journeys(session).values():
            if journey.status == JourneyStatus.ACTIVE and journey.latest_version_id:
                compiled = registry.compiled(session, journey.latest_version_id)
                for event_type in dict.fromkeys(compiled.spec.entry.events):
                    entries.setdefault(event_type, []).append(compiled)
        session.info["entries"] = entries
    return entries


def _active(session: Session, customer_id: str) -> list[Enrollment]:
    """The customer's active enrollments: those ``prepare`` locked, and new ones since."""
    known = session.info.setdefault("active", {})
    if customer_id not in known:
        query = select(Enrollment).where(
            Enrollment.customer_id == customer_id, Enrollment.status == "active"
        )
        known[customer_id] = list(session.exec(query.order_by(col(Enrollment.id))))
    return [e for e in known[customer_id] if e.status == EnrollmentStatus.ACTIVE]


def _facts(
    session: Session, customer: Customer, event: Event | None, enrollment: Enrollment
) -> Facts:
    return Facts(
        customer=customer,
        now=clock.now(),
        event=event,
        session=session,
        policy_id=enrollment.context.get("policy_id"),
    )
