"""Segments: named conditions over customers, their members, and who entered or left when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from automation import clock
from automation.db.types import JSONType, UTCDateTime


class Segment(SQLModel, table=True):
    """A segment's definition: a condition in the condition language."""

    __tablename__ = "segments"

    segment_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    description: str = ""
    definition: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False, default=dict)
    )
    source: str = ""
    checksum: str = Field(max_length=64)
    builtin: bool = False
    refreshed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=False, default=clock.now)
    )


class SegmentMember(SQLModel, table=True):
    """A customer in a segment now."""

    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_customer", "customer_id"),)

    segment_id: str = Field(foreign_key="segments.segment_id", primary_key=True, max_length=64)
    customer_id: str = Field(primary_key=True, max_length=64)
    entered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SegmentChange(SQLModel, table=True):
    """Membership history: every entry and exit, and what caused it."""

    __tablename__ = "segment_changes"
    __table_args__ = (Index("ix_segment_changes_segment", "segment_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    segment_id: str = Field(max_length=64)
    customer_id: str = Field(max_length=64, index=True)
    entered: bool
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    cause: str = Field(default="event", max_length=16)  # event | refresh
    event_id: int | None = None
