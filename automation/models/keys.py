"""API keys: only a hash is stored; the key itself is shown once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from automation import clock
from automation.db.types import UTCDateTime


class Scope(StrEnum):
    """What a key may do: ``ingest`` the site's behaviour, ``system`` the core systems'
    facts (purchases, renewals …), ``agent`` the call-center queue, ``admin`` all.

    Stored as a plain ``VARCHAR(16)`` with no check constraint: a new scope needs no
    migration.
    """

    INGEST = "ingest"
    ADMIN = "admin"
    AGENT = "agent"
    SYSTEM = "system"


class ApiKey(SQLModel, table=True):
    """A machine's key with one scope."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    scope: str = Field(max_length=16)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=False, default=clock.now)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
