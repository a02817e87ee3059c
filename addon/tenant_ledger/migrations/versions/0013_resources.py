"""Water, gas and heat beside electricity: a resource on points, tariffs, plans and rating.

Every existing point and tariff measures electricity. A plan keeps its electricity tariff in
``plans.tariff_id``; its tariffs of other resources go in ``plan_tariffs``, whose composite
foreign key to ``tariffs(id, resource)`` makes the database refuse a tariff of another
resource in a slot. Rating periods are kept per tenant *and* resource. A quarantined reading
keeps its unit, so releasing it stores what came. Going back down is refused while a point or
tariff measures anything but electricity: the older ledger would read it as electricity.

Revision ID: 0013
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_RESOURCES = "('electricity', 'water', 'gas', 'heat')"


def _resource_column(name: str) -> sa.Column[str]:
    return sa.Column(
        "resource",
        sa.String(length=16),
        sa.CheckConstraint(f"resource IN {_RESOURCES}", name=name),
        nullable=False,
        server_default="electricity",
    )


def upgrade() -> None:
    op.add_column("metering_points", _resource_column("point_resource"))
    op.add_column("tariffs", _resource_column("tariff_resource"))
    op.create_index("ix_tariffs_id_resource", "tariffs", ["id", "resource"], unique=True)
    op.create_table(
        "plan_tariffs",
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=16), nullable=False),
        sa.Column("tariff_id", sa.String(length=64), nullable=False),
        sa.Column("quota", sa.String(length=32), nullable=True),
        sa.Column("quota_overage_rate", sa.String(length=32), nullable=True),
        sa.CheckConstraint("resource IN ('water', 'gas', 'heat')", name="ck_plan_tariffs_resource"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.ForeignKeyConstraint(["tariff_id", "resource"], ["tariffs.id", "tariffs.resource"]),
        sa.PrimaryKeyConstraint("plan_id", "resource"),
    )
    op.add_column(
        "quarantined_readings",
        sa.Column(
            "unit",
            sa.String(length=2),
            sa.CheckConstraint("unit IN ('Wh', 'L')", name="quarantined_unit"),
            nullable=False,
            server_default="Wh",
        ),
    )
    _rebuild_rating_periods(with_resource=True)


def downgrade() -> None:
    _refuse_other_resources()
    _rebuild_rating_periods(with_resource=False)
    op.drop_column("quarantined_readings", "unit")
    op.drop_table("plan_tariffs")
    op.drop_index("ix_tariffs_id_resource", table_name="tariffs")
    op.drop_column("tariffs", "resource")
    op.drop_column("metering_points", "resource")


def _refuse_other_resources() -> None:
    """Going down would make every point and tariff electricity: a water point would count its
    litres as watt-hours with a 6000 W maximum. Refused while one measures anything else."""
    found = [
        f"{kind} {row.id} ({row.resource})"
        for kind, table in (("metering point", "metering_points"), ("tariff", "tariffs"))
        for row in op.get_bind().execute(
            sa.text(
                f"SELECT id, resource FROM {table} "  # noqa: S608 (constants only)
                "WHERE resource <> 'electricity' ORDER BY id"
            )
        )
    ]
    if found:
        raise RuntimeError(
            f"cannot go below revision 0013: {', '.join(found)} would become electricity; "
            "downgrade a ledger that measures electricity only"
        )


def _rebuild_rating_periods(*, with_resource: bool) -> None:
    """Copy rating periods into a table keyed with (or without) the resource.

    A new table rather than a changed key: SQLite cannot alter a primary key. Going down keeps
    the electricity periods, the only ones the older ledger knows.
    """
    key = ["tenant_id", "resource", "period_start_us"] if with_resource else None
    op.create_table(
        "rating_periods_new",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        *([_resource_column("rating_period_resource")] if with_resource else []),
        sa.Column("period_start_us", sa.BigInteger(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("posted_minor", sa.BigInteger(), nullable=False),
        sa.Column("carry", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint(*(key or ["tenant_id", "period_start_us"])),
    )
    columns = "tenant_id, period_start_us, energy_wh, posted_minor, carry"
    only_electricity = "" if with_resource else " WHERE resource = 'electricity'"
    op.execute(
        f"INSERT INTO rating_periods_new ({columns}) "  # noqa: S608 (constants only)
        f"SELECT {columns} FROM rating_periods{only_electricity}"
    )
    op.drop_table("rating_periods")
    op.rename_table("rating_periods_new", "rating_periods")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE rating_periods RENAME CONSTRAINT rating_periods_new_pkey "
            "TO rating_periods_pkey"
        )
