"""The journey engine: events in, transitions and messages out. The only place that
decides what a customer gets next.

A pipeline step (``worker/process.py``): for each event it first moves the
customer's active enrollments (goal, exit, the state's rules, or a due timer), then
enters the customer into journeys whose entry the event triggers (``moves.py`` does
the moving). Everything runs in the event's transaction, so an event processed twice
changes nothing twice.
"""

from __future__ import annotations

from sqlmodel import col, select

from automation import clock
from automation.conditions import Facts
from automation.customers.chunk import Chunk
from automation.db.sql import among
from automation.journeys import registry
from automation.journeys.compiler import Compiled
from automation.journeys.definition import TIMER_KINDS
from automation.journeys.moves import JourneyRun, enroll, facts_for, may_enter, move
from automation.models import (
    Customer,
    Enrollment,
    EnrollmentStatus,
    Event,
    JourneyStatus,
    Timer,
)


class JourneyStep:
    """Built once per chunk: the chunk's active enrollments locked in id order, and
    the journeys as published (read again only when the definitions stamp moved);
    applied per event."""

    def __init__(self, chunk: Chunk) -> None:
        session = chunk.session
        customers = sorted({e.customer_id for e in chunk.events if e.customer_id})
        active: dict[str, list[Enrollment]] = {c: [] for c in customers}
        if customers:
            query = (
                select(Enrollment)
                .where(
                    among(chunk.dialect, col(Enrollment.customer_id), customers),
                    Enrollment.status == "active",
                )
                .order_by(col(Enrollment.id))
                .with_for_update()
            )
            for enrollment in session.exec(query):
                active[enrollment.customer_id].append(enrollment)
        versions = {e.version_id for found in active.values() for e in found}
        current = registry.current(session, chunk.definitions, versions)
        self.run = JourneyRun(chunk, current.journeys, active)
        if current.entries is None:
            current.entries = self._entries()
        self.entries = current.entries

    def apply(self, event: Event) -> None:
        """Move and enter the event's customer."""
        if not event.customer_id:
            return
        customer = self.run.chunk.customer(event.customer_id)
        if customer is None:
            return
        if event.type == "timer_due":
            _fire_timer(self.run, event, customer)
            return
        for enrollment in self.run.enrollments(customer.customer_id):
            _advance(self.run, enrollment, event, customer)
        for compiled in self.entries.get(event.type, ()):
            _enter(self.run, compiled, event, customer)

    def _entries(self) -> dict[str, list[Compiled]]:
        """Event type → the active journeys' newest versions that it enters, in journey
        order (once per chunk: looking at every journey for every event grew with the
        journeys)."""
        entries: dict[str, list[Compiled]] = {}
        for journey in self.run.journeys.values():
            if journey.status == JourneyStatus.ACTIVE and journey.latest_version_id:
                compiled = registry.compiled(self.run.session, journey.latest_version_id)
                for event_type in dict.fromkeys(compiled.spec.entry.events):
                    entries.setdefault(event_type, []).append(compiled)
        return entries


def _advance(run: JourneyRun, enrollment: Enrollment, event: Event, customer: Customer) -> None:
    compiled = registry.compiled(run.session, enrollment.version_id)
    if not _names(enrollment, event) or event.properties.get("suspected_bot") is True:
        return  # a mail scanner's pre-fetch is kept as an event but moves nobody
    facts = facts_for(run, customer, event, enrollment)
    # A goal counts whatever policy it names (buying any policy converts); exits and
    # state rules only for the enrollment's own key.
    triggers = [f"goal:{event.type}"]
    if _same_key(compiled, enrollment, event):
        triggers.append(f"exit:{event.type}")
        if run.journeys[enrollment.journey_id].status == JourneyStatus.ACTIVE:
            triggers.append(f"event:{event.type}")
    for trigger in triggers:
        target = compiled.fire(trigger, enrollment.state, facts=facts)
        if target is not None:
            move(run, compiled, enrollment, target, trigger, event, customer)
            return


def _names(enrollment: Enrollment, event: Event) -> bool:
    """An event naming an enrollment (a response to its message) concerns only that one."""
    named = event.properties.get("enrollment_id")
    return named is None or str(named) == str(enrollment.id)


def _same_key(compiled: Compiled, enrollment: Enrollment, event: Event) -> bool:
    """An event carrying the journey's key (a policy) concerns only that key's enrollment."""
    key = compiled.spec.entry.key
    return not (key and key in event.properties and str(event.properties[key]) != enrollment.key)


def _fire_timer(run: JourneyRun, event: Event, customer: Customer) -> None:
    due = _due_timer(run, event)
    if due is None:
        return
    enrollment_id, step, kind = due
    # Active enrollments are the step's, locked: this finds them without a query.
    enrollment = run.session.get(Enrollment, enrollment_id)
    if (
        enrollment is None
        or enrollment.status != EnrollmentStatus.ACTIVE
        or enrollment.step != step
    ):
        return  # the customer moved on before the timer came due
    if run.journeys[enrollment.journey_id].status != JourneyStatus.ACTIVE:
        return
    compiled = registry.compiled(run.session, enrollment.version_id)
    target = compiled.fire(f"timer:{kind}", enrollment.state)
    if target is not None:
        move(run, compiled, enrollment, target, f"timer:{kind}", event, customer)


def _due_timer(run: JourneyRun, event: Event) -> tuple[int, int, str] | None:
    """The due timer's enrollment, the step it was set at and its kind: as the timers
    job wrote them on the event (``catalog.timer_due``), else from the timer's row (an
    event stored before the job wrote them). Timer rows never change but for
    ``fired_at``, so the event's copy is the row's (one query a timer fewer)."""
    props = event.properties
    enrollment_id, step, kind = props.get("enrollment_id"), props.get("step"), props.get("kind")
    if type(enrollment_id) is int and type(step) is int and kind in TIMER_KINDS:
        return enrollment_id, step, kind
    timer = run.session.get(Timer, int(props["timer_id"]))
    return None if timer is None else (timer.enrollment_id, timer.step, timer.kind)


def _enter(run: JourneyRun, compiled: Compiled, event: Event, customer: Customer) -> None:
    entry = compiled.spec.entry
    key = ""
    if entry.key:
        if event.properties.get(entry.key) is None:
            return
        key = str(event.properties[entry.key])
    policy_id = key if entry.key == "policy_id" else event.properties.get("policy_id")
    facts = Facts(
        customer=customer,
        now=clock.now(),
        event=event,
        session=run.chunk.reader,
        policy_id=policy_id,
    )
    if not entry.when.matches(facts) or not may_enter(run, compiled, customer.customer_id, key):
        return
    enroll(run, compiled, customer, key, event, {"policy_id": policy_id} if policy_id else {})
