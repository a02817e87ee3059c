"""A common point may be shared by the tenants' water use (``water_consumption``).

The allowed allocation methods are a CHECK on ``metering_points.allocation`` (and the new name
is longer than its 16 characters). Neither SQLite nor a batch copy can change that CHECK in
place (other tables reference ``metering_points``), so the column is rebuilt beside a copy of
its values, on both databases alike. Going down, ``water_consumption`` becomes
``consumption``, the nearest method the older ledger knows.

Revision ID: 0015
Revises: 0014
"""

from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rebuild_allocation(
        "('equal', 'floor_area', 'consumption', 'water_consumption')", length=32, renamed={}
    )


def downgrade() -> None:
    _rebuild_allocation(
        "('equal', 'floor_area', 'consumption')",
        length=16,
        renamed={"water_consumption": "consumption"},
    )


def _rebuild_allocation(methods: str, *, length: int, renamed: dict[str, str]) -> None:
    op.add_column("metering_points", sa.Column("allocation_kept", sa.String(length=32)))
    op.execute("UPDATE metering_points SET allocation_kept = allocation")
    for old, new in renamed.items():
        op.execute(
            sa.text(
                "UPDATE metering_points SET allocation_kept = :new WHERE allocation_kept = :old"
            ).bindparams(old=old, new=new)
        )
    op.drop_column("metering_points", "allocation")
    op.add_column(
        "metering_points",
        sa.Column(
            "allocation",
            sa.String(length=length),
            sa.CheckConstraint(f"allocation IN {methods}", name="point_allocation"),
            nullable=True,
        ),
    )
    op.execute("UPDATE metering_points SET allocation = allocation_kept")
    op.drop_column("metering_points", "allocation_kept")
