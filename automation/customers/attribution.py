"""Attribution: a purchase or renewal is credited to the message the customer last
engaged with inside ``ATTRIBUTION_WINDOW_DAYS`` (last touch), and to the first one in
that window (first touch). A pipeline step before the journeys, so a journey's goal
knows which message led there.

Engagement is a human response tied to a message: an open or click that is not a
mail scanner's pre-fetch, an SMS reply, a call that reached the customer. The window
is inclusive at its edge: engaged exactly 30 days before the purchase counts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from automation.config import get_settings
from automation.customers.chunk import Chunk
from automation.db.sql import dialect_insert
from automation.models import Attribution, Event, Message

CONVERSIONS = frozenset({"policy_purchased", "policy_renewed"})
ENGAGEMENTS = ("email_opened", "email_clicked", "sms_clicked", "sms_replied", "call_completed")
CALL_REACHED = frozenset({"reached", "interested", "appointment", "sold", "not_interested"})
_attributions = Attribution.__table__  # type: ignore[attr-defined]


def engaged(event: Event) -> bool:
    """Is this event a human engagement with a message?"""
    props = event.properties
    if props.get("message_id") is None or props.get("suspected_bot") is True:
        return False
    return event.type != "call_completed" or props.get("outcome") in CALL_REACHED


class AttributionStep:
    """Credits each conversion of the chunk (``chunk.credited``: the journey engine notes
    the credited message on the enrollment the conversion completes)."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk

    def apply(self, event: Event) -> None:
        """Credit a conversion to the messages that led there."""
        if event.type in CONVERSIONS and event.customer_id:
            self.chunk.settle()  # the touches it reads are events: the chunk's too
            found = attribute(self.chunk.session, event)
            if found:
                self.chunk.credited[event.id] = found  # type: ignore[index]


def attribute(session: Session, event: Event) -> dict[str, int]:
    """Store the first- and last-touch credit of a conversion; returns model → message id."""
    window = timedelta(days=get_settings().attribution_window_days)
    touches = [
        e
        for e in session.exec(
            select(Event)
            .where(
                Event.customer_id == event.customer_id,
                col(Event.type).in_(ENGAGEMENTS),
                col(Event.occurred_at) >= event.occurred_at - window,
                col(Event.occurred_at) <= event.occurred_at,
            )
            .order_by(col(Event.occurred_at), col(Event.id))
        )
        if engaged(e)
    ]
    credited: dict[str, int] = {}
    if not touches:
        return credited
    for model, touch in (("first_touch", touches[0]), ("last_touch", touches[-1])):
        message = session.get(Message, int(touch.properties["message_id"]))
        if message is None:
            continue
        row: dict[str, Any] = {
            "conversion_event_id": event.id,
            "conversion_type": event.type,
            "customer_id": event.customer_id,
            "model": model,
            "message_id": message.id,
            "journey_id": message.journey_id,
            "template": message.template,
            "channel": message.channel,
            "touch_type": touch.type,
            "touched_at": touch.occurred_at,
            "converted_at": event.occurred_at,
        }
        conn = session.connection()
        conn.execute(dialect_insert(conn, _attributions).values(row).on_conflict_do_nothing())
        credited[model] = message.id  # type: ignore[assignment]
    return credited
