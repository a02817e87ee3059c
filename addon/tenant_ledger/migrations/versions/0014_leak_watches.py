"""Leak watches per metering point and the night-flow alarms they raised.

Revision ID: 0014
Revises: 0013
"""

from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leak_watches",
        sa.Column("point_id", sa.String(length=200), nullable=False),
        sa.Column("window_start_min", sa.Integer(), nullable=False),
        sa.Column("window_end_min", sa.Integer(), nullable=False),
        sa.Column("minimum_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "window_start_min >= 0 AND window_start_min < 1440 "
            "AND window_end_min >= 0 AND window_end_min < 1440 "
            "AND window_start_min <> window_end_min",
            name="ck_leak_watches_window",
        ),
        sa.CheckConstraint("minimum_per_hour > 0", name="ck_leak_watches_minimum"),
        sa.ForeignKeyConstraint(["point_id"], ["metering_points.id"]),
        sa.PrimaryKeyConstraint("point_id"),
    )
    op.create_table(
        "leak_alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.String(length=200), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("window_start_us", sa.BigInteger(), nullable=False),
        sa.Column("window_end_us", sa.BigInteger(), nullable=False),
        sa.Column("minimum_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("lowest_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("detected_at_us", sa.BigInteger(), nullable=False),
        sa.Column("acknowledged_at_us", sa.BigInteger(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint("window_start_us < window_end_us", name="ck_leak_alarms_window"),
        sa.CheckConstraint(
            "minimum_per_hour > 0 AND lowest_per_hour >= minimum_per_hour AND volume >= 0",
            name="ck_leak_alarms_flow",
        ),
        sa.CheckConstraint(
            "(acknowledged_at_us IS NULL) = (acknowledged_by IS NULL) "
            "AND (acknowledged_at_us IS NULL OR acknowledged_at_us >= detected_at_us)",
            name="ck_leak_alarms_acknowledged",
        ),
        sa.ForeignKeyConstraint(["point_id"], ["metering_points.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("point_id", "night", name="uq_leak_alarms_point_night"),
    )


def downgrade() -> None:
    op.drop_table("leak_alarms")
    op.drop_table("leak_watches")
