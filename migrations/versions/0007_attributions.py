"""attributions: conversions credited to messages (last touch, first touch)

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversion_event_id", sa.Integer(), nullable=False),
        sa.Column("conversion_type", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.String(length=64), nullable=True),
        sa.Column("template", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("touch_type", sa.String(length=64), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversion_event_id", "model"),
    )
    for column in ("conversion_event_id", "customer_id", "message_id"):
        op.create_index(op.f(f"ix_attributions_{column}"), "attributions", [column])


def downgrade() -> None:
    op.drop_table("attributions")
