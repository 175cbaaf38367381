"""The append-only event log, which is also the outbox to the broker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, text
from sqlmodel import Field, SQLModel

from automation.db.types import JSONType, UTCDateTime


class Event(SQLModel, table=True):
    """One thing that happened. Stored before it is published; processed exactly once."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_customer_time", "customer_id", "occurred_at"),
        # Stitching looks up a visitor's anonymous events; only those are indexed.
        Index(
            "ix_events_anonymous_visitor",
            "visitor_id",
            postgresql_where=text("customer_id IS NULL"),
            sqlite_where=text("customer_id IS NULL"),
        ),
        Index("ix_events_type_time", "type", "occurred_at"),
        # The funnel reads repeat customers' purchases alone (migration 0012): a few per
        # thousand events, so a small index that other events' inserts skip.
        Index(
            "ix_events_purchases",
            "customer_id",
            "occurred_at",
            postgresql_where=text("type = 'policy_purchased'"),
            sqlite_where=text("type = 'policy_purchased'"),
        ),
        # The relay's work list stays small: only events not yet processed.
        Index(
            "ix_events_unprocessed",
            "id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    event_id: str = Field(max_length=200, unique=True)
    type: str = Field(max_length=64)
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    visitor_id: str | None = Field(default=None, max_length=128)
    customer_id: str | None = Field(default=None, max_length=64)
    properties: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False, default=dict)
    )
    source: str = Field(default="api", max_length=32)
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
