"""Moving an enrollment: the transition logged, the state's actions done, its timers
set, a branch or split taken at once, or the enrollment finished. Also entering a
customer into a journey (at its start state) and handing one on to another journey.

Everything runs in the chunk's transaction through a :class:`JourneyRun`, the journey
engine's view of the chunk (``engine.py`` builds it once per chunk).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from automation import clock
from automation.conditions import Facts
from automation.customers.chunk import Chunk
from automation.errors import AutomationError
from automation.journeys import actions, journal, registry, rows
from automation.journeys.compiler import CONVERTED, EXITED, Compiled
from automation.journeys.definition import Action
from automation.journeys.timing import due_at
from automation.models import (
    Customer,
    Enrollment,
    EnrollmentStatus,
    Event,
    JourneyStatus,
    Policy,
)

MAX_IMMEDIATE_MOVES = 50


class JourneyLoop(AutomationError):
    """Branches and splits moved a customer around without ever waiting."""


@dataclass(eq=False)
class JourneyRun:
    """The journey engine's view of a chunk: its journeys, and the active enrollments of
    its customers (locked in id order, plus those entered since)."""

    chunk: Chunk
    journeys: dict[str, registry.JourneyRow]
    active: dict[str, list[Enrollment]] = field(default_factory=dict)
    # Customer → (journey, key) → (entered, exited) of enrollments finished before the
    # chunk, for the re-entry rules: loaded in one statement at the first entry check
    # (a query and an autoflush per check were a fifth of a sign-up's time).
    finished: dict[str, dict[tuple[str, str], list[tuple[Any, Any]]]] = field(default_factory=dict)

    @property
    def session(self) -> Session:
        """The chunk's session."""
        return self.chunk.session

    def enrollments(self, customer_id: str) -> list[Enrollment]:
        """The customer's active enrollments: those locked for the chunk, and new ones."""
        known = self.active
        if customer_id not in known:
            query = select(Enrollment).where(
                Enrollment.customer_id == customer_id, Enrollment.status == "active"
            )
            known[customer_id] = list(self.session.exec(query.order_by(col(Enrollment.id))))
        return [e for e in known[customer_id] if e.status == EnrollmentStatus.ACTIVE]


def move(
    run: JourneyRun,
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
        run.session,
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
    rows.put(enrollment, state=target, step=enrollment.step + 1, state_entered_at=now)
    if target in (CONVERTED, EXITED):
        status = EnrollmentStatus.CONVERTED if target == CONVERTED else EnrollmentStatus.EXITED
        finish(run, enrollment, status, event)
        return
    enter_state(run, compiled, enrollment, event, customer, depth)


def enter_state(
    run: JourneyRun,
    compiled: Compiled,
    enrollment: Enrollment,
    event: Event | None,
    customer: Customer,
    depth: int = 0,
) -> None:
    """Do the state's actions, set its timers, and take its branch or split at once."""
    state = compiled.spec.state(enrollment.state)
    session = run.session
    if enrollment not in session:  # add() walks the cascades even for a row it holds
        session.add(enrollment)
    if enrollment.id is None:
        session.flush()  # the enrollment's id names its messages and timers
    for action in state.actions:
        if action.kind == "handoff":
            handoff(run, enrollment, action, event, customer)
            return  # handed to another journey
        actions.run(run.chunk, enrollment, action, event, customer)
    _set_timers(run, compiled, enrollment, customer)
    if state.end:
        finish(run, enrollment, EnrollmentStatus.COMPLETED, event)
        return
    immediate = None
    if state.branch:
        immediate = (
            "branch",
            compiled.fire("branch", state.name, facts=facts_for(run, customer, event, enrollment)),
        )
    elif state.split:
        immediate = (
            "split",
            compiled.fire(
                "split", state.name, bucket=bucket(enrollment.journey_id, customer.customer_id)
            ),
        )
        rows.put(
            enrollment,
            variant=immediate[1],
            control=any(a.control and a.to == immediate[1] for a in state.split),
        )
    if immediate and immediate[1]:
        move(run, compiled, enrollment, immediate[1], immediate[0], event, customer, depth + 1)


def finish(
    run: JourneyRun, enrollment: Enrollment, status: EnrollmentStatus, event: Event | None
) -> None:
    """End an enrollment; its pending timers will find it gone and do nothing."""
    rows.put(enrollment, status=status.value, exited_at=clock.now())
    if event is not None and status != EnrollmentStatus.COMPLETED:
        rows.put(enrollment, outcome_event_id=event.id)
    # The message that led there, if the customer engaged with one (attribution step).
    found = run.chunk.credited.get(event.id) if event is not None else None  # type: ignore[arg-type]
    if status == EnrollmentStatus.CONVERTED and found:
        rows.put(enrollment, context={**enrollment.context, "attribution": found})
    run.session.add(enrollment)


def bucket(journey_id: str, customer_id: str) -> int:
    """0–99, the same for a customer and a journey on every machine and every run."""
    digest = hashlib.sha256(f"{journey_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def _set_timers(
    run: JourneyRun, compiled: Compiled, enrollment: Enrollment, customer: Customer
) -> None:
    state = compiled.spec.state(enrollment.state)
    if not state.timers:
        return
    values = _date_values(run, enrollment, customer)
    now = clock.now()
    for timer in state.timers:
        due = due_at(timer, enrollment.state_entered_at or now, values, customer.timezone)
        if due is not None:
            journal.append(
                run.session,
                "timers",
                {
                    "enrollment_id": enrollment.id,
                    "step": enrollment.step,
                    "kind": timer.kind,
                    "target": timer.to,
                    "due_at": due,
                    "fired_at": None,
                    "created_at": now,
                },
            )


def _date_values(run: JourneyRun, enrollment: Enrollment, customer: Customer) -> dict[str, Any]:
    values: dict[str, Any] = {
        "customer.birth_date": customer.birth_date,
        "customer.joined_at": customer.joined_at,
    }
    policy_id = enrollment.context.get("policy_id")
    policy = run.session.get(Policy, policy_id) if policy_id else None
    if policy is not None:
        values.update(
            {"policy.maturity_date": policy.maturity_date, "policy.start_date": policy.start_date}
        )
    values.update(
        {f"event.{k}": v for k, v in enrollment.context.get("entry_properties", {}).items()}
    )
    return values


# --- entering journeys ------------------------------------------------------------


def enroll(
    run: JourneyRun,
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
    enrollment = rows.new(
        Enrollment,
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
    run.enrollments(customer.customer_id)
    run.session.add(enrollment)
    if not run.chunk.new_id(enrollment):
        run.session.flush()
    run.active[customer.customer_id].append(enrollment)
    journal.append(
        run.session,
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
    enter_state(run, compiled, enrollment, event, customer)
    return enrollment


def may_enter(run: JourneyRun, compiled: Compiled, customer_id: str, key: str) -> bool:
    """Not active in the journey now, and its re-entry rule allows another time."""
    entry = compiled.spec.entry
    journey = compiled.spec.journey_id
    run.enrollments(customer_id)  # loads the active ones of a customer outside the chunk
    # (entered, exited) of every earlier enrollment: the chunk's (active when it began or
    # entered since, in their current status), then those finished before it began.
    earlier: list[tuple[Any, Any]] = []
    for e in run.active[customer_id]:
        if e.journey_id == journey and e.key == key:
            if e.status == EnrollmentStatus.ACTIVE:
                return False
            earlier.append((e.entered_at, e.exited_at))
    earlier += _finished(run, customer_id).get((journey, key), [])
    if entry.reentry == "once":
        return not earlier
    if entry.reentry == "after" and earlier and entry.cooldown is not None:
        last = max(exited or entered or clock.now() for entered, exited in earlier)
        return clock.now() - last >= entry.cooldown
    return True


def _finished(run: JourneyRun, customer_id: str) -> dict[tuple[str, str], list[tuple[Any, Any]]]:
    """The customer's enrollments finished before the chunk, by (journey, key): loaded
    for all the chunk's customers at the first entry check, in one statement."""
    if customer_id not in run.finished:
        wanted = [c for c in run.active if c not in run.finished] or [customer_id]
        in_chunk = {e.id for found in run.active.values() for e in found}
        for c in wanted:
            run.finished[c] = {}
        e = Enrollment.__table__  # type: ignore[attr-defined]
        query = sa_select(
            e.c.id, e.c.journey_id, e.c.customer_id, e.c.key, e.c.entered_at, e.c.exited_at
        ).where(e.c.customer_id.in_(wanted), e.c.status != EnrollmentStatus.ACTIVE.value)
        for pk, journey, customer, key, entered, exited in run.session.connection().execute(query):
            if pk not in in_chunk:  # one finished in this chunk is in run.active already
                run.finished[customer].setdefault((journey, key), []).append((entered, exited))
    return run.finished[customer_id]


def handoff(
    run: JourneyRun, enrollment: Enrollment, action: Action, event: Event | None, customer: Customer
) -> None:
    """End the enrollment and enter the customer into the target journey (if active and
    its re-entry rule allows), with the same key and policy."""
    target = action.args["journey"]
    finish(run, enrollment, EnrollmentStatus.EXITED, event)
    enrollment.context = {**enrollment.context, "handed_to": target}
    journey = run.journeys.get(target)
    if journey is None or journey.status != JourneyStatus.ACTIVE or not journey.latest_version_id:
        return
    compiled = registry.compiled(run.session, journey.latest_version_id)
    if may_enter(run, compiled, customer.customer_id, enrollment.key):
        context = (
            {"policy_id": enrollment.context["policy_id"]}
            if enrollment.context.get("policy_id")
            else {}
        )
        context["handed_from"] = enrollment.journey_id
        enroll(run, compiled, customer, enrollment.key, event, context)


def facts_for(
    run: JourneyRun, customer: Customer, event: Event | None, enrollment: Enrollment
) -> Facts:
    """What a condition of the enrollment's journey reads: the customer, the event, and
    the policy the enrollment is about."""
    return Facts(
        customer=customer,
        now=clock.now(),
        event=event,
        session=run.chunk.reader,
        policy_id=enrollment.context.get("policy_id"),
    )
