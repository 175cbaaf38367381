"""Which message gets the credit for a purchase or renewal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from automation.db.types import UTCDateTime


class Attribution(SQLModel, table=True):
    """A conversion credited to a message, by one model (last touch or first touch)."""

    __tablename__ = "attributions"
    __table_args__ = (UniqueConstraint("conversion_event_id", "model"),)

    id: int | None = Field(default=None, primary_key=True)
    conversion_event_id: int = Field(index=True)
    conversion_type: str = Field(max_length=64)
    customer_id: str = Field(max_length=64, index=True)
    model: str = Field(max_length=16)  # last_touch | first_touch
    message_id: int = Field(index=True)
    journey_id: str | None = Field(default=None, max_length=64)
    template: str | None = Field(default=None, max_length=100)
    channel: str | None = Field(default=None, max_length=16)
    touch_type: str = Field(max_length=64)  # the engagement: email_clicked, sms_replied …
    touched_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    converted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
