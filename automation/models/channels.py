"""A channel's pause: while one is in force, no message on the channel is attempted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from automation.db.types import UTCDateTime


class ChannelPause(SQLModel, table=True):
    """The last pause of one channel (one row per channel, kept after a resume).

    In force while ``paused_at`` is set, ``resumed_at`` is not, and ``until`` (None:
    until an operator resumes it) has not passed. A row in the database, because every
    worker process, on every host, must stop sending at once.
    """

    __tablename__ = "channel_pauses"

    channel: str = Field(primary_key=True, max_length=16)
    paused_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reason: str = Field(max_length=300)  # the SMTP stage, code and text, or an operator's words
    paused_by: str = Field(max_length=100)  # "auto" (a sender-side failure) or an operator
    resumed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    resumed_by: str | None = Field(default=None, max_length=100)
