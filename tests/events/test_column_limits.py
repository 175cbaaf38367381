"""An event the pipeline could never process is refused at ingest, naming the property
and the limit of the column it would land in; one at the limit is stored and processed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from automation import db
from automation.events.ingest import ingest
from automation.events.schema import validate_event
from automation.models import Event, Policy
from automation.worker.process import process_events

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
EARLIER = "2026-11-22T09:00:00+09:00"  # before the purchases


def purchase(event_id: str, **props: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "policy_purchased",
        "occurred_at": "2026-11-22T10:00:00+09:00",
        "customer_id": "c1",
        "properties": {"policy_id": "P1", **props},
    }


def other(event_id: str, type_: str, **props: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": type_, "customer_id": "c1", "properties": props}


REFUSED = [
    (purchase("e", premium=1e30), "properties.premium 1e+30 does not fit"),
    (purchase("e", premium=999_999_999_999.996), "12 digits and 2 decimals"),
    (purchase("e", premium=-1e13), "12 digits and 2 decimals"),
    (purchase("e", policy_id="P" * 10_000), "properties.policy_id is longer than 64"),
    (purchase("e", product="X" * 65), "properties.product is longer than 64"),
    (purchase("e", maturity_date="2046-13-01"), "properties.maturity_date '2046-13-01' is not a"),
    (purchase("e", start_date="soon"), "properties.start_date 'soon' is not a date"),
    (other("e", "policy_cancelled", policy_id="P" * 65), "properties.policy_id is longer than 64"),
    (other("e", "timer_due", timer_id="abc"), "properties.timer_id must be a timer id"),
    (other("e", "timer_due", timer_id=2**31), "a whole number from 0 to 2147483647"),
    (other("e", "email_clicked", message_id="abc"), "properties.message_id must be"),
    (other("e", "sms_replied", message_id=str(2**31)), "from 0 to 2147483647"),
    (other("e", "customer_dormant", last_seen_at="junk"), "properties.last_seen_at"),
    (other("e", "customer_churned", last_seen_at=3), "properties.last_seen_at"),
    ({**other("e", "custom_evt"), "type": "custom_evt\n"}, "is not a valid name"),
    ({**other("e", "custom_evt"), "type": "custom_evt\x00"}, "is not a valid name"),
]


@pytest.mark.parametrize(("raw", "reason"), REFUSED)
def test_what_no_column_can_take_is_refused_with_the_limit(
    raw: dict[str, Any], reason: str
) -> None:
    errors = validate_event(raw, NOW)
    assert isinstance(errors, list), errors
    assert any(reason in e for e in errors), errors


def test_values_at_the_limits_are_stored_and_processed(database: str) -> None:
    batch = [
        purchase("p1", premium=999_999_999_999.99, product="X" * 64, maturity_date="2046-11-22"),
        purchase("p2", policy_id="P" * 64, premium=12.5, start_date="2026-11-22T09:00:00Z"),
        other("t", "timer_due", timer_id="123"),
        {**other("m", "email_clicked", message_id=2**31 - 1), "occurred_at": EARLIER},
        purchase("p3", policy_id="P3"),  # credited to that message id: looked up
        other("d", "customer_dormant", last_seen_at="2026-10-01T00:00:00+09:00"),
    ]
    result = ingest(batch, publish=False)
    assert result.rejected == 0, result.summary()
    process_events(result.stored_ids)
    with db.session_scope() as s:
        failed = s.exec(
            select(Event.event_id, Event.last_error).where(Event.last_error.is_not(None))
        )  # type: ignore[call-overload, union-attr]
        assert list(failed) == []
        premiums = {p.policy_id: p.premium for p in s.exec(select(Policy)).scalars()}  # type: ignore[call-overload]
    assert premiums["P1"] is not None and float(premiums["P1"]) == 999_999_999_999.99


def test_a_premium_that_overflowed_the_column_is_refused_through_ingest(database: str) -> None:
    result = ingest([purchase("big", premium=1e30), purchase("ok", policy_id="P2")], publish=False)
    assert [r.status for r in result.results] == ["rejected", "accepted"]
    process_events(result.stored_ids)
    with db.session_scope() as s:
        rows = list(s.exec(select(Event.event_id, Event.last_error)))  # type: ignore[call-overload]
    assert rows == [("ok", None)]
