"""The call center's queues: per queue, the outcomes an agent may record, how a task's
due time is set, which event the outcome becomes, and whether the customer asked for
the contact.

A queue not declared here is a marketing call queue (``retention``, ``sales`` …): the
call outcomes, due when its journey's ``call: {due: …}`` says, the contact policy's
every rule. A *requested* queue's tasks answer the customer (``consultation``: they
asked us to call; ``service``: a complaint or an inquiry): not advertising, not held
back by advertising or channel consent, night time or the marketing caps, and not
counted against those caps; a consultation still never calls a ``do_not_call``
customer, and a service task always opens, since it is the insurer's own work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pendulum

from automation.config import get_settings
from automation.journeys.timing import into_business_hours
from automation.models import Customer

CALL_OUTCOMES = ("reached", "not_reached", "interested", "appointment", "sold", "do_not_call")
SERVICE_OUTCOMES = ("resolved", "escalated", "callback")
REQUESTED = "requested_by_customer"  # the ledger's reason on a requested task's message
DUE_JOURNEY, DUE_MINUTES, DUE_BUSINESS_HOURS = "journey", "minutes", "business_hours"


@dataclass(frozen=True)
class Queue:
    """One queue's rules."""

    name: str
    outcomes: tuple[str, ...] = CALL_OUTCOMES
    due: str = DUE_JOURNEY  # journey | minutes | business_hours
    requested: bool = False  # the customer asked: not advertising, not capped
    honours_do_not_call: bool = True  # a requested task may still refuse do_not_call
    event: str = "call_completed"  # what an outcome becomes

    def due_at(self, journey_due: datetime | None, now: datetime) -> datetime:
        """When a task opened at ``now`` is due (``journey_due``: the call action's)."""
        settings = get_settings()
        if self.due == DUE_MINUTES:
            return now + timedelta(minutes=settings.consultation_due_minutes)
        if self.due == DUE_BUSINESS_HOURS:
            return add_business_hours(now, settings.service_due_business_hours)
        return journey_due or now


QUEUES: dict[str, Queue] = {
    "consultation": Queue("consultation", due=DUE_MINUTES, requested=True),
    "service": Queue(
        "service",
        outcomes=SERVICE_OUTCOMES,
        due=DUE_BUSINESS_HOURS,
        requested=True,
        honours_do_not_call=False,
        event="service_completed",
    ),
}
ALL_OUTCOMES = frozenset(o for q in (Queue("default"), *QUEUES.values()) for o in q.outcomes)


def queue_of(name: str | None) -> Queue:
    """The rules of queue ``name`` (a marketing call queue if it is not declared)."""
    return QUEUES.get(name or "", Queue(name or "default"))


def requested_refusal(customer: Customer, queue: Queue) -> str | None:
    """Why a requested queue's task must not open for ``customer``, or None."""
    if queue.honours_do_not_call and (customer.attributes or {}).get("do_not_call"):
        return "do_not_call"
    return None


def add_business_hours(start: datetime, hours: int) -> datetime:
    """``hours`` working hours after ``start`` (weekdays, ``business_hours_start``–
    ``_end`` in the business time zone), in UTC: Friday evening plus 4 is Monday."""
    settings = get_settings()
    at = into_business_hours(pendulum.instance(start))
    left = timedelta(hours=hours)
    while True:
        closing = at.set(hour=settings.business_hours_end, minute=0, second=0, microsecond=0)
        if at + left <= closing:
            return (at + left).in_tz("UTC")
        left -= closing - at
        at = into_business_hours(closing)
