"""call_tasks.category and request_text: a service task's complaint or inquiry

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch_alter_table: SQLite adds the columns the same way PostgreSQL does.
    with op.batch_alter_table("call_tasks") as batch:
        batch.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("request_text", sa.String(length=2000), nullable=True))
    op.create_index("ix_call_tasks_category", "call_tasks", ["queue", "category"])


def downgrade() -> None:
    op.drop_index("ix_call_tasks_category", table_name="call_tasks")
    with op.batch_alter_table("call_tasks") as batch:
        batch.drop_column("request_text")
        batch.drop_column("category")
