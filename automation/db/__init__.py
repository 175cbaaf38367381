"""Storage: the engine per URL, column types, dialect SQL helpers, migrations."""

from automation.db.engine import (
    dialect_name,
    engine_for,
    get_engine,
    json_dumps,
    mark_redoable,
    session_scope,
)

__all__ = [
    "dialect_name",
    "engine_for",
    "get_engine",
    "json_dumps",
    "mark_redoable",
    "session_scope",
]
