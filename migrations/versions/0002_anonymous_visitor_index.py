"""partial index for stitching anonymous events

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_visitor"))
        batch_op.create_index(
            "ix_events_anonymous_visitor",
            ["visitor_id"],
            unique=False,
            postgresql_where=sa.text("customer_id IS NULL"),
            sqlite_where=sa.text("customer_id IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_events_anonymous_visitor",
            postgresql_where=sa.text("customer_id IS NULL"),
            sqlite_where=sa.text("customer_id IS NULL"),
        )
        batch_op.create_index(batch_op.f("ix_events_visitor"), ["visitor_id"], unique=False)
