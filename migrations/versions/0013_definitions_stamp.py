"""definitions_stamp: one row the database re-stamps when a definition changes

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The pipeline keeps what it read of these tables while the stamp stays
# (automation/models/definitions.py), so every writer must move the stamp: triggers,
# not the application's publish functions, so a paused journey or a segment changed
# by hand in SQL is seen at the next chunk all the same. Only the columns the pipeline
# reads: a segment's refresh writes refreshed_at at every run.
# On SQLite a later batch_alter_table of one of these tables copies the table and
# loses its triggers: such a migration must create them again (_sqlite below).
WATCHED = {
    "journeys": "status, latest_version_id, name",
    "journey_versions": "journey_id, version, spec, checksum",
    "segments": "definition, checksum",
}
_PG_FUNCTION = """
CREATE FUNCTION definitions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO definitions_stamp (id, stamp)
    VALUES (1, floor(random() * 9007199254740992)::bigint)
    ON CONFLICT (id) DO UPDATE SET stamp = EXCLUDED.stamp;
    RETURN NULL;
END
$$
"""
# TRUNCATE too (statement triggers only): the tests empty every table between tests.
_PG_TRIGGER = """
CREATE TRIGGER {table}_definitions_changed
AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF {columns} ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION definitions_changed()
"""
_SQLITE_TRIGGER = """
CREATE TRIGGER {table}_definitions_{verb}
AFTER {what} ON {table}
BEGIN
    INSERT INTO definitions_stamp (id, stamp) VALUES (1, random())
    ON CONFLICT (id) DO UPDATE SET stamp = excluded.stamp;
END
"""


def _sqlite(table: str, columns: str) -> list[str]:
    """SQLite's triggers are per row, one event each."""
    verbs = {"inserted": "INSERT", "deleted": "DELETE", "updated": f"UPDATE OF {columns}"}
    return [
        _SQLITE_TRIGGER.format(table=table, verb=verb, what=what) for verb, what in verbs.items()
    ]


def upgrade() -> None:
    op.create_table(
        "definitions_stamp",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table, columns in WATCHED.items():
            op.execute(_PG_TRIGGER.format(table=table, columns=columns))
        op.execute(
            "INSERT INTO definitions_stamp (id, stamp)"
            " VALUES (1, floor(random() * 9007199254740992)::bigint)"
        )
    else:
        for table, columns in WATCHED.items():
            for statement in _sqlite(table, columns):
                op.execute(statement)
        op.execute("INSERT INTO definitions_stamp (id, stamp) VALUES (1, random())")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_definitions_changed ON {table}")
        op.execute("DROP FUNCTION definitions_changed()")
    else:
        for table in WATCHED:
            for verb in ("inserted", "deleted", "updated"):
                op.execute(f"DROP TRIGGER {table}_definitions_{verb}")
    op.drop_table("definitions_stamp")
