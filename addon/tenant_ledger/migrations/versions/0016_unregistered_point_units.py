"""The unit of the readings stored for a point nobody has registered yet.

Readings carry no unit of their own (one integer register column keeps storage small): a
registered point's resource says what they count. Until a point is registered, this row does,
so litres are never taken for watt-hours when the point is registered or read again.

Revision ID: 0016
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa

revision = "0016"
# The lead re-chains this after 0015 (allocation methods, another branch) when merging.
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unregistered_point_units",
        sa.Column("point_id", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=2), nullable=False),
        sa.CheckConstraint("unit IN ('Wh', 'L')", name="ck_unregistered_point_units_unit"),
        sa.PrimaryKeyConstraint("point_id"),
    )


def downgrade() -> None:
    op.drop_table("unregistered_point_units")
