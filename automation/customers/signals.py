"""What an event says about a customer's channels: a message sent on one, a human
response on one (a mail scanner's pre-fetch is not one), and keys fit to be counted."""

from __future__ import annotations

from typing import Any

from automation.models import Event

CHANNELS = ("email", "sms", "call")  # also the tie-break order for the preferred channel
SENT = {"email_sent": "email", "sms_delivered": "sms", "call_completed": "call"}
RESPONSES = {
    "email_opened": "email",
    "email_clicked": "email",
    "sms_replied": "sms",
    "sms_clicked": "sms",
    "call_completed": "call",
}
CALL_RESPONDED = frozenset({"interested", "appointment", "sold"})
MAX_KEY = 200  # longer keys are ignored: they are not tags, and would bloat the row


def responded(event: Event) -> str | None:
    """The channel a human response is on, or None (a scanner's pre-fetch is not one)."""
    props = event.properties
    channel = RESPONSES.get(event.type)
    if channel is None or props.get("suspected_bot") is True:
        return None
    if event.type == "call_completed" and props.get("outcome") not in CALL_RESPONDED:
        return None
    return channel


def usable(value: Any) -> str | None:
    """``value`` if it can be a key (non-empty text, not too long)."""
    return value if isinstance(value, str) and 0 < len(value) <= MAX_KEY else None
