"""offer_sets and offer_credits: personalization's rules and the conversions it earned

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offer_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    op.create_table(
        "offer_credits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversion_event_id", sa.BigInteger(), nullable=False),
        sa.Column("conversion_type", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("clicked_event_id", sa.BigInteger(), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversion_event_id"),
    )
    op.create_index("ix_offer_credits_customer_id", "offer_credits", ["customer_id"])
    op.create_index("ix_offer_credits_rule", "offer_credits", ["rule"])


def downgrade() -> None:
    op.drop_table("offer_credits")
    op.drop_table("offer_sets")
