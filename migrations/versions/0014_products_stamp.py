"""definitions_stamp: a product's code or category moves it too

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The preference step keeps the catalogue's categories per stamp (customers/
# preferences.py): reading the products a chunk's views named was a query per chunk.
# The same triggers as 0013's (the function definitions_changed() on PostgreSQL).
TABLE, COLUMNS = "products", "product_code, category"
_PG_TRIGGER = f"""
CREATE TRIGGER {TABLE}_definitions_changed
AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF {COLUMNS} ON {TABLE}
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
_SQLITE_VERBS = {"inserted": "INSERT", "deleted": "DELETE", "updated": f"UPDATE OF {COLUMNS}"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_TRIGGER)
    else:
        for verb, what in _SQLITE_VERBS.items():
            op.execute(_SQLITE_TRIGGER.format(table=TABLE, verb=verb, what=what))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TABLE}_definitions_changed ON {TABLE}")
    else:
        for verb in _SQLITE_VERBS:
            op.execute(f"DROP TRIGGER {TABLE}_definitions_{verb}")
