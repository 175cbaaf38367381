"""What a state does on entry. Sending is only *deciding*: a message row with an
idempotency key that names the enrollment, the step and the action; the channels
deliver it."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from automation import clock
from automation.event_schema import EventIn
from automation.event_store import insert_events
from automation.models import (
    Customer,
    Enrollment,
    EnrollmentStatus,
    Event,
    Journey,
    JourneyStatus,
    Message,
)

if TYPE_CHECKING:
    from automation.journeys.compiler import Compiled
    from automation.journeys.spec import Action


def run(
    session: Session,
    compiled: Compiled,
    enrollment: Enrollment,
    action: Action,
    event: Event | None,
    customer: Customer,
) -> None:
    """Carry out one action of the state the enrollment just entered."""
    if action.kind in ("email", "sms", "call"):
        _message(session, enrollment, action, event, customer)
    elif action.kind == "set":
        customer.attributes = {**customer.attributes, **action.args["attributes"]}
        session.add(customer)
    elif action.kind == "emit":
        _emit(session, enrollment, action, customer)
    elif action.kind == "handoff":
        _handoff(session, enrollment, action.args["journey"], event, customer)


def message_key(enrollment: Enrollment, action: Action) -> str:
    """The idempotency key of the message an action decides."""
    return f"enrollment:{enrollment.id}:{enrollment.step}:{action.index}"


def _message(
    session: Session,
    enrollment: Enrollment,
    action: Action,
    event: Event | None,
    customer: Customer,
) -> None:
    payload: dict[str, Any] = {
        "enrollment_id": enrollment.id,
        "trigger_event_id": event.id if event else None,
    }
    if action.kind == "call":
        due = clock.now() + timedelta(seconds=action.args["due_seconds"])
        payload |= {
            "queue": action.args["queue"],
            "priority": action.args["priority"],
            "due_at": due.isoformat(),
        }
    if enrollment.context.get("policy_id"):
        payload["policy_id"] = enrollment.context["policy_id"]
    message = Message(
        idempotency_key=message_key(enrollment, action),
        enrollment_id=enrollment.id,
        journey_id=enrollment.journey_id,
        version_id=enrollment.version_id,
        state=enrollment.state,
        customer_id=customer.customer_id,
        channel=action.kind,
        template=action.args.get("template"),
        payload=payload,
        updated_at=clock.now(),  # offered: processing publishes it after the commit
    )
    session.add(message)
    session.flush()
    enrollment.last_message_id = message.id
    session.info.setdefault("messages", []).append(message.id)  # delivered after commit


def _emit(session: Session, enrollment: Enrollment, action: Action, customer: Customer) -> None:
    # The event is stored in this transaction (so it exists only if the move does) and
    # published after commit by processing; the relay covers a crash in between.
    now = clock.now()
    emitted = EventIn(
        event_id=f"journey:{message_key(enrollment, action)}",
        type=action.args["type"],
        occurred_at=now,
        visitor_id=None,
        customer_id=customer.customer_id,
        properties={
            **action.args["properties"],
            "journey_id": enrollment.journey_id,
            "enrollment_id": enrollment.id,
        },
    )
    stored = insert_events(session.connection(), [emitted], now, "journey")
    session.info.setdefault("emitted", []).extend(stored.values())


def _handoff(
    session: Session, enrollment: Enrollment, target: str, event: Event | None, customer: Customer
) -> None:
    from automation.journeys import engine, registry

    engine.finish(session, enrollment, EnrollmentStatus.EXITED, event)
    enrollment.context = {**enrollment.context, "handed_to": target}
    journey = session.get(Journey, target)
    if journey is None or journey.status != JourneyStatus.ACTIVE or not journey.latest_version_id:
        return
    compiled = registry.compiled(session, journey.latest_version_id)
    if engine.may_enter(session, compiled, customer.customer_id, enrollment.key):
        context = (
            {"policy_id": enrollment.context["policy_id"]}
            if enrollment.context.get("policy_id")
            else {}
        )
        engine.enroll(
            session,
            compiled,
            customer,
            enrollment.key,
            event,
            {**context, "handed_from": enrollment.journey_id},
        )
