"""Alembic environment: the URL comes from settings, the target is the models' metadata."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB

import automation.models  # noqa: F401  (registers every table)
from automation.db import engine_for
from automation.db.types import UTCDateTime
from automation.models import metadata

config = context.config


def _url() -> str:
    explicit = config.attributes.get("database_url")
    if explicit:
        return str(explicit)
    from automation.config import get_settings

    return get_settings().database_url


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not import our TypeDecorators: render what they store.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__name__ == "AutoString":
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def compare_type(
    ctx: Any, inspected: Any, metadata_col: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, DateTime)
    if isinstance(metadata_type, JSON | JSONB) or type(metadata_type).__name__ == "Variant":
        return None
    return None


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=metadata, literal_binds=True, render_item=render_item
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with engine_for(_url()).connect() as conn:
        _run(conn)
        conn.commit()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=render_item,
        compare_type=compare_type,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
