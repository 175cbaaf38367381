"""Customers and the visitor identities stitched to them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from automation import clock
from automation.db.types import JSONType, UTCDateTime


class LifecycleStage(StrEnum):
    """The conversion ladder; a customer only ever climbs it."""

    FIRST_TIME_ANONYMOUS = "first_time_anonymous"
    ANONYMOUS = "anonymous"
    MEMBER = "member"
    CUSTOMER = "customer"
    REPEAT = "repeat"


STAGE_ORDER = {stage: i for i, stage in enumerate(LifecycleStage)}


class ValueTier(StrEnum):
    VIP = "vip"
    REGULAR = "regular"


class ActivityStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"
    CHURNED = "churned"
    REACTIVATED = "reactivated"


CONSENT_KINDS = ("email", "sms", "call", "ad", "night")


def _utc(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), **kw))


def _stamp(*, onupdate: bool = False) -> Any:
    kw: dict[str, Any] = {"nullable": False, "default": clock.now}
    if onupdate:
        kw["onupdate"] = clock.now
    return Field(default=None, sa_column=Column(UTCDateTime(), **kw))


class Customer(SQLModel, table=True):
    """A member or policyholder, keyed by the insurer's own customer number."""

    __tablename__ = "customers"

    customer_id: str = Field(primary_key=True, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    mobile: str | None = Field(default=None, max_length=32)
    birth_date: date | None = None
    gender: str | None = Field(default=None, max_length=16)
    occupation: str | None = Field(default=None, max_length=100)
    marital_status: str | None = Field(default=None, max_length=16)
    has_children: bool | None = None

    email_consent: bool = False
    email_consent_at: datetime | None = _utc()
    email_consent_source: str | None = Field(default=None, max_length=64)
    sms_consent: bool = False
    sms_consent_at: datetime | None = _utc()
    sms_consent_source: str | None = Field(default=None, max_length=64)
    call_consent: bool = False
    call_consent_at: datetime | None = _utc()
    call_consent_source: str | None = Field(default=None, max_length=64)
    ad_consent: bool = False
    ad_consent_at: datetime | None = _utc()
    ad_consent_source: str | None = Field(default=None, max_length=64)
    night_consent: bool = False
    night_consent_at: datetime | None = _utc()
    night_consent_source: str | None = Field(default=None, max_length=64)

    locale: str = Field(default="ko-KR", max_length=16)
    timezone: str = Field(default="Asia/Seoul", max_length=64)
    lifecycle_stage: str = Field(default=LifecycleStage.MEMBER.value, max_length=32, index=True)
    value_tier: str = Field(default=ValueTier.REGULAR.value, max_length=16)
    activity_status: str = Field(default=ActivityStatus.ACTIVE.value, max_length=16)

    joined_at: datetime | None = _utc()
    first_policy_at: datetime | None = _utc()
    last_seen_at: datetime | None = _utc()
    attributes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False, default=dict)
    )
    created_at: datetime | None = _stamp()
    updated_at: datetime | None = _stamp(onupdate=True)


class ConsentChange(SQLModel, table=True):
    """Audit trail of consent: who granted or withdrew what, when, through which source."""

    __tablename__ = "consent_changes"
    __table_args__ = (Index("ix_consent_changes_customer", "customer_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customers.customer_id", max_length=64)
    kind: str = Field(max_length=16)
    granted: bool
    source: str | None = Field(default=None, max_length=64)
    changed_at: datetime | None = _stamp()


class Identity(SQLModel, table=True):
    """A visitor (cookie id) and, once they sign up or log in, the customer behind it."""

    __tablename__ = "identities"

    visitor_id: str = Field(primary_key=True, max_length=128)
    customer_id: str | None = Field(
        default=None, foreign_key="customers.customer_id", max_length=64, index=True
    )
    first_seen_at: datetime | None = _utc(nullable=False)
    last_seen_at: datetime | None = _utc(nullable=False)
    visits: int = 1
    stitched_at: datetime | None = _utc()

    @property
    def stage(self) -> LifecycleStage:
        """First-time anonymous on the first visit, anonymous after, member once stitched."""
        if self.customer_id:
            return LifecycleStage.MEMBER
        if self.visits > 1:
            return LifecycleStage.ANONYMOUS
        return LifecycleStage.FIRST_TIME_ANONYMOUS


# The lifecycle ladder: a customer only climbs (member → customer → repeat).


def promote(customer: Customer, stage: LifecycleStage) -> bool:
    """Move the customer up the ladder to ``stage``; never down. True if it moved."""
    if STAGE_ORDER[LifecycleStage(customer.lifecycle_stage)] < STAGE_ORDER[stage]:
        customer.lifecycle_stage = stage.value
        return True
    return False


def stage_for_policy_count(count: int) -> LifecycleStage:
    """Member without a policy, customer with one, repeat with two or more."""
    if count >= 2:
        return LifecycleStage.REPEAT
    return LifecycleStage.CUSTOMER if count == 1 else LifecycleStage.MEMBER
