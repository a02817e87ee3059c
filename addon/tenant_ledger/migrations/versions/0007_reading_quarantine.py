"""Implausible readings: a maximum power per metering point and the quarantine table.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "metering_points",
        sa.Column(
            "max_power_w",
            sa.BigInteger(),
            sa.CheckConstraint("max_power_w > 0", name="point_max_power"),
            nullable=False,
            server_default="100000",
        ),
    )
    op.create_table(
        "quarantined_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("released_at_us", sa.BigInteger(), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("point_id", "ts", "energy_wh", name="quarantined_reading_value"),
    )


def downgrade() -> None:
    op.drop_table("quarantined_readings")
    # Plain DROP COLUMN (SQLite >= 3.35), as in revision 0006.
    op.drop_column("metering_points", "max_power_w")
