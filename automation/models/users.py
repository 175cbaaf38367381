"""People who sign in to the console: agents, marketers, managers, admins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from automation import clock
from automation.db.types import UTCDateTime


class Role(StrEnum):
    """What a person does, and so which console pages they may open (``console/roles.py``)."""

    AGENT = "agent"
    MARKETER = "marketer"
    MANAGER = "manager"
    ADMIN = "admin"


class User(SQLModel, table=True):
    """One person. Only an argon2 hash of the password is stored; a disabled user keeps
    their row (tasks and journal entries name them) but cannot sign in."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=200)
    active: bool = Field(default=True)
    created_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=False, default=clock.now)
    )
    last_login_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
