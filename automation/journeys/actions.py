"""What a state does on entry. Sending is only *deciding*: a message row with an
idempotency key that names the enrollment, the step and the action; the channels
deliver it. (A ``handoff`` is a move to another journey: ``moves.handoff``.)

On PostgreSQL the message takes its id from the sequence and is written at commit
with the transitions and timers (``journal.py``: nothing in the chunk reads it back);
building the ORM row and flushing it was a fifth of a sign-up's time, profiled.
SQLite flushes an ORM row for its id, as before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from automation import clock
from automation.customers.chunk import Chunk
from automation.events.catalog import journey_emitted
from automation.journeys import journal, products, rows
from automation.journeys.definition import Action
from automation.models import Customer, Enrollment, Event, Message


def run(
    chunk: Chunk, enrollment: Enrollment, action: Action, event: Event | None, customer: Customer
) -> None:
    """Carry out one action of the state the enrollment just entered."""
    if action.kind in ("email", "sms", "call"):
        _message(chunk, enrollment, action, event, customer)
    elif action.kind == "set":
        customer.attributes = {**customer.attributes, **action.args["attributes"]}
        chunk.session.add(customer)
    elif action.kind == "emit":
        _emit(chunk, enrollment, action, customer)
    else:
        raise ValueError(f"not an action run here: {action.kind!r}")


def message_key(enrollment: Enrollment, action: Action) -> str:
    """The idempotency key of the message an action decides."""
    return f"enrollment:{enrollment.id}:{enrollment.step}:{action.index}"


def _message(
    chunk: Chunk, enrollment: Enrollment, action: Action, event: Event | None, customer: Customer
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
    if action.args.get("product"):
        # Fixed now, so a retry renders the same product (journeys/products.py).
        payload |= products.choose(chunk.session, customer, action.args["product"])
    now = clock.now()
    values: dict[str, Any] = {
        "idempotency_key": message_key(enrollment, action),
        "enrollment_id": enrollment.id,
        "journey_id": enrollment.journey_id,
        "version_id": enrollment.version_id,
        "state": enrollment.state,
        "customer_id": customer.customer_id,
        "channel": action.kind,
        "template": action.args.get("template"),
        "payload": payload,
        "updated_at": now,  # offered: the worker enqueues it after the commit
    }
    message_id = chunk.take_id("messages")
    if message_id is not None:
        # Every column, the others as the model's defaults set them (its created_at: now).
        row = {**rows.defaults(Message), **values, "id": message_id, "created_at": now}
        journal.append(chunk.session, "messages", row)
    else:
        message = Message(**values)
        chunk.session.add(message)
        chunk.session.flush()
        message_id = message.id
    rows.put(enrollment, last_message_id=message_id)
    chunk.messages.append(message_id)  # type: ignore[arg-type]  # delivered after commit


def _emit(chunk: Chunk, enrollment: Enrollment, action: Action, customer: Customer) -> None:
    props = {
        **action.args["properties"],
        "journey_id": enrollment.journey_id,
        "enrollment_id": enrollment.id,
    }
    key = message_key(enrollment, action)
    event = journey_emitted(key, action.args["type"], customer.customer_id, clock.now(), props)
    chunk.emit([event], "journey")
