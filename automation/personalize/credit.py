"""Crediting offers: a sign-up or a policy purchase is credited to the personalized
offer the person last clicked within ``ATTRIBUTION_WINDOW_DAYS`` before it (last touch).
A pipeline step (``worker/process.STEPS``). Clicks an anonymous visitor made count for
the customer they became: ingest gives a visitor's events to the customer on sign-up.
Only a click whose token is ours counts, so a forged ``offer_clicked`` credits nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from automation.config import get_settings
from automation.customers.chunk import Chunk
from automation.db.sql import dialect_insert
from automation.models import Event, OfferCredit, OfferSet
from automation.personalize import tokens

CONVERSIONS = frozenset({"signup", "policy_purchased"})
CLICK = "offer_clicked"
_credits = OfferCredit.__table__  # type: ignore[attr-defined]


class OfferCreditStep:
    """Credits each sign-up or purchase of the chunk to the offer clicked before it."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.active: bool | None = None  # offer rules ever published? asked once, if needed

    def apply(self, event: Event) -> None:
        """Credit a conversion to the last offer clicked before it."""
        if event.type not in CONVERSIONS or not event.customer_id:
            return
        if self.active is None:
            # In the chunk's own transaction (SQLite has one writer): before any offer
            # rules were published no offer was ever shown, and no look-up is needed.
            self.active = self.chunk.session.exec(select(OfferSet.id).limit(1)).first() is not None
        if self.active:
            credit_offer(self.chunk.session, event)


def credit_offer(session: Session, event: Event) -> dict[str, Any] | None:
    """Store the credit of ``event`` (a conversion); returns the credit, or None."""
    window = timedelta(days=get_settings().attribution_window_days)
    clicks = session.exec(
        select(Event)
        .where(
            Event.customer_id == event.customer_id,
            Event.type == CLICK,
            col(Event.occurred_at) >= event.occurred_at - window,
            col(Event.occurred_at) <= event.occurred_at,
        )
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
        .limit(20)
    )
    for click in clicks:
        try:
            token = tokens.read(str(click.properties.get("token", "")))
        except tokens.BadOfferToken:
            continue
        row: dict[str, Any] = {
            "conversion_event_id": event.id,
            "conversion_type": event.type,
            "customer_id": event.customer_id,
            "rule": token.rule[:64],
            "item": f"{token.kind}:{token.key}"[:200],
            "slot": token.slot[:32],
            "holdout": token.holdout,
            "clicked_event_id": click.id,
            "clicked_at": click.occurred_at,
            "converted_at": event.occurred_at,
        }
        conn = session.connection()
        conn.execute(dialect_insert(conn, _credits).values(row).on_conflict_do_nothing())
        return row
    return None
