"""Personalization: the offer rules marketing ops publish (versioned), and the
conversions credited to an offer a visitor clicked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from automation import clock
from automation.db.types import UTCDateTime


class OfferSet(SQLModel, table=True):
    """One published version of the offer rules (the YAML as published); the newest
    is in force."""

    __tablename__ = "offer_sets"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    source: str = Field(sa_column=Column(Text, nullable=False))
    checksum: str = Field(max_length=64)
    published_by: str = Field(max_length=100)
    published_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=False, default=clock.now)
    )


class OfferCredit(SQLModel, table=True):
    """A sign-up or purchase credited to the offer the person last clicked before it."""

    __tablename__ = "offer_credits"
    __table_args__ = (UniqueConstraint("conversion_event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    conversion_event_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    conversion_type: str = Field(max_length=64)
    customer_id: str = Field(max_length=64, index=True)
    rule: str = Field(max_length=64, index=True)  # the rule id, or the item's kind
    item: str = Field(max_length=200)  # the product, content or offer key
    slot: str = Field(max_length=32)
    holdout: bool = False
    clicked_event_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    clicked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    converted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
