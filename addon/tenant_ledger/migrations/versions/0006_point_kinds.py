"""Metering point kinds (tenant, common, incomer) and how a common point is shared and priced.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "metering_points",
        sa.Column(
            "kind",
            sa.String(length=16),
            sa.CheckConstraint("kind IN ('tenant', 'common', 'incomer')", name="point_kind"),
            nullable=False,
            server_default="tenant",
        ),
    )
    op.add_column(
        "metering_points",
        sa.Column(
            "allocation",
            sa.String(length=16),
            sa.CheckConstraint(
                "allocation IN ('equal', 'floor_area', 'consumption')", name="point_allocation"
            ),
            nullable=True,
        ),
    )
    # No foreign key: SQLite could then not drop the column again on a downgrade (operations
    # check that the tariff exists).
    op.add_column("metering_points", sa.Column("tariff_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would have to drop a table that the
    # assignments reference.
    for column in ("tariff_id", "allocation", "kind"):
        op.drop_column("metering_points", column)
