"""Column types that keep the database honest: UTC instants and portable JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from automation.clock import plain_utc


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant stored in UTC; naive values are refused, results come back aware.

    SQLite has no zone-aware type, so it stores naive UTC; PostgreSQL stores
    ``timestamptz``. Either way the Python side only ever sees aware UTC values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = plain_utc(value)  # refuses a naive value
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)  # SQLite keeps UTC without a zone
        return utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType: Any = JSON().with_variant(JSONB(), "postgresql")
