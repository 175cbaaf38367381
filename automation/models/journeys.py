"""Journeys, their frozen versions, customers' places in them, timers, and what they send."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from automation import clock
from automation.db.types import JSONType, UTCDateTime


class JourneyStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class MessageStatus(StrEnum):
    """A message's place in the delivery ledger."""

    QUEUED = "queued"  # decided, waiting for delivery
    DEFERRED = "deferred"  # the contact policy or a transient failure: until deliver_after
    SUPPRESSED = "suppressed"  # the contact policy said no (reason)
    SENDING = "sending"  # claimed by a worker; handed to the channel
    SENT = "sent"  # the channel accepted it (provider_id)
    FAILED = "failed"  # permanently, or retries exhausted (reason)
    BOUNCED = "bounced"  # the mail server refused the address for good
    REVIEW = "review"  # a worker died between send and record: not resent, for a person


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"  # reached an end state
    CONVERTED = "converted"  # reached the goal
    EXITED = "exited"  # an exit criterion, or handed to another journey


def _stamp() -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=False, default=clock.now))


def _json(default: Any = dict) -> Any:
    column = Column(JSONType, nullable=False, default=default)
    return Field(default_factory=default, sa_column=column)


class Journey(SQLModel, table=True):
    """A journey by its id; its behaviour lives in its versions."""

    __tablename__ = "journeys"

    journey_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    status: str = Field(default=JourneyStatus.ACTIVE.value, max_length=16)
    latest_version_id: int | None = None
    created_at: datetime | None = _stamp()
    updated_at: datetime | None = _stamp()


class JourneyVersion(SQLModel, table=True):
    """A published, immutable version: customers who entered it finish on it."""

    __tablename__ = "journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    journey_id: str = Field(foreign_key="journeys.journey_id", max_length=64)
    version: int
    spec: dict[str, Any] = _json()
    source: str = ""
    checksum: str = Field(max_length=64)
    published_at: datetime | None = _stamp()


class Enrollment(SQLModel, table=True):
    """A customer's place in one journey version (one row, never an object in memory)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index("ix_enrollments_customer", "customer_id", "status"),
        Index("ix_enrollments_version_state", "version_id", "state"),
        # At most one active enrollment per journey, customer and key.
        Index(
            "ux_enrollments_active",
            "journey_id",
            "customer_id",
            "key",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    journey_id: str = Field(foreign_key="journeys.journey_id", max_length=64)
    version_id: int = Field(foreign_key="journey_versions.id")
    customer_id: str = Field(foreign_key="customers.customer_id", max_length=64)
    key: str = Field(default="", max_length=200)
    state: str = Field(max_length=64)
    step: int = 0  # increases on every transition; a timer set at step n fires only at step n
    status: str = Field(default=EnrollmentStatus.ACTIVE.value, max_length=16)
    variant: str | None = Field(default=None, max_length=64)
    control: bool = False
    entry_event_id: int | None = None
    last_message_id: int | None = None
    outcome_event_id: int | None = None
    context: dict[str, Any] = _json()
    entered_at: datetime | None = _stamp()
    state_entered_at: datetime | None = _stamp()
    exited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Timer(SQLModel, table=True):
    """A durable delay: the scheduler turns a due timer into a ``timer_due`` event."""

    __tablename__ = "timers"
    __table_args__ = (
        Index(
            "ix_timers_pending",
            "due_at",
            postgresql_where=text("fired_at IS NULL"),
            sqlite_where=text("fired_at IS NULL"),
        ),
        UniqueConstraint("enrollment_id", "step", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(foreign_key="enrollments.id")
    step: int
    kind: str = Field(max_length=16)  # after | at
    target: str = Field(max_length=64)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    fired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime | None = _stamp()


class Transition(SQLModel, table=True):
    """Every move of every enrollment, for audit and per-step funnels."""

    __tablename__ = "transitions"
    __table_args__ = (Index("ix_transitions_version", "version_id", "to_state"),)

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(foreign_key="enrollments.id", index=True)
    version_id: int
    from_state: str | None = Field(default=None, max_length=64)
    to_state: str = Field(max_length=64)
    trigger: str = Field(max_length=100)
    event_id: int | None = None
    at: datetime | None = _stamp()


class Message(SQLModel, table=True):
    """Something the engine decided to send; the channels deliver it.

    ``idempotency_key`` names the enrollment, the step and the action, so an event
    processed twice can never decide the same message twice.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_customer", "customer_id", "created_at"),
        # The relay's work list: queued, deferred and sending messages only.
        Index(
            "ix_messages_waiting",
            "deliver_after",
            postgresql_where=text("status IN ('queued', 'deferred', 'sending')"),
            sqlite_where=text("status IN ('queued', 'deferred', 'sending')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    enrollment_id: int | None = Field(default=None, foreign_key="enrollments.id")
    journey_id: str | None = Field(default=None, max_length=64)
    version_id: int | None = None
    state: str | None = Field(default=None, max_length=64)
    customer_id: str = Field(foreign_key="customers.customer_id", max_length=64)
    channel: str = Field(max_length=16)  # email | sms | call
    template: str | None = Field(default=None, max_length=100)
    payload: dict[str, Any] = _json()
    status: str = Field(default="queued", max_length=16)  # see MessageStatus
    reason: str | None = Field(default=None, max_length=300)  # why suppressed/deferred/failed
    deliver_after: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    attempts: int = 0
    provider_id: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime | None = _stamp()


class CallTask(SQLModel, table=True):
    """A call for the call center: who, why, by when, and what the customer did online."""

    __tablename__ = "call_tasks"
    __table_args__ = (
        Index("ix_call_tasks_queue", "queue", "status", "due_at"),
        Index("ix_call_tasks_category", "queue", "category"),  # the service report
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", unique=True)
    customer_id: str = Field(foreign_key="customers.customer_id", max_length=64)
    queue: str = Field(max_length=64)
    priority: str = Field(max_length=16)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    journey_id: str | None = Field(default=None, max_length=64)
    state: str | None = Field(default=None, max_length=64)
    report: dict[str, Any] = _json()
    # A service task's complaint or inquiry, from the event that opened it.
    category: str | None = Field(default=None, max_length=64)
    request_text: str | None = Field(default=None, max_length=2000)
    status: str = Field(default="open", max_length=16)  # open | claimed | done
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    outcome: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=2000)
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime | None = _stamp()
