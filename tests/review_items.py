"""Messages in review, made the way production makes them: a worker dies between the
send and the record, and the relay moves the message to review once the grace is over.
Shared by the CLI's and the API's tests of resolving them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from automation import clock
from automation.db import session_scope
from automation.delivery import ledger
from automation.delivery.backlog import relay_messages
from automation.delivery.deliver import deliver
from automation.models import Message


def queued_message(
    key: str = "m1",
    channel: str = "email",
    template: str | None = "welcome",
    journey: str = "welcome",
    **payload: Any,
) -> int:
    """A queued message to customer C1; its id."""
    with session_scope() as s:
        message = Message(
            idempotency_key=key,
            customer_id="C1",
            channel=channel,
            template=template,
            journey_id=journey,
            payload=payload,
        )
        s.add(message)
        s.flush()
        assert message.id is not None
        return message.id


def message_row(message_id: int) -> Message:
    """The message's row as stored now."""
    with session_scope() as s:
        row = s.get(Message, message_id)
        assert row is not None
        return row


def in_review(monkeypatch: pytest.MonkeyPatch, channel: str = "email") -> int:
    """A message whose worker died between the send and the record, now in review."""
    template = "welcome" if channel == "email" else "product_reminder"
    mid = queued_message(channel=channel, template=template)
    real = ledger.settle_many

    def crash_on_sent(conn: Any, ends: list[Any], now: Any) -> None:
        if any(end.status.value == "sent" for end in ends):
            raise KeyboardInterrupt("the worker dies here")
        real(conn, ends, now)

    with monkeypatch.context() as patch:
        patch.setattr(ledger, "settle_many", crash_on_sent)
        with pytest.raises(KeyboardInterrupt):
            deliver(mid)
    clock.advance(timedelta(minutes=11))
    relay_messages()
    assert message_row(mid).status == "review"
    return mid
