"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from automation import db
from automation.models import metadata


def test_migrations_match_models(database: str) -> None:
    engine = db.engine_for(database)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_every_table_is_created(database: str) -> None:
    tables = set(inspect(db.engine_for(database)).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= tables
