"""Readings turned away because another register was already stored for that point and second.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reading_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("kept_energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("point_id", "ts", "energy_wh", name="reading_conflict_value"),
    )


def downgrade() -> None:
    op.drop_table("reading_conflicts")
