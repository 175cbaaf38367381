"""The tables conditions select from, as SQLAlchemy Core tables."""

from __future__ import annotations

from sqlalchemy import Table

from automation.models import Customer, Event, Policy, SegmentMember

CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
POLICIES: Table = Policy.__table__  # type: ignore[attr-defined]
EVENTS: Table = Event.__table__  # type: ignore[attr-defined]
SEGMENT_MEMBERS: Table = SegmentMember.__table__  # type: ignore[attr-defined]
