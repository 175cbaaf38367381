"""Column types that keep the database honest: UTC instants and portable JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


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
        offset = value.utcoffset()
        if offset is None:
            raise ValueError(f"naive datetime {value!r} refused: store aware times only")
        # Most values are UTC already: pendulum's astimezone was a bind's main cost.
        utc = value.astimezone(UTC) if offset else value
        if dialect.name == "sqlite":
            return datetime(  # noqa: DTZ001 - SQLite keeps UTC without a zone
                utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond
            )
        return datetime(
            utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC
        )

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType: Any = JSON().with_variant(JSONB(), "postgresql")
