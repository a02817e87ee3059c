"""Supply reports: the tenant's supply as Home Assistant reports it (on/off, who cut and why).

Append-only like the journal: the triggers come from db/guards.py, which ``verify`` compares
the database with.

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

from tenant_ledger.db import guards

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TABLE = "supply_reports"


def _triggers() -> list[guards.Trigger]:
    return [t for t in guards.for_dialect(op.get_bind().dialect.name) if t.table == _TABLE]


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("supply", sa.String(length=3), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("supply IN ('on', 'off')", name="ck_supply_reports_supply"),
        sa.CheckConstraint(
            "(supply = 'on' AND cause IS NULL) OR "
            "(supply = 'off' AND cause IN ('arrears', 'landlord', 'safety'))",
            name="ck_supply_reports_cause",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_supply_reports_tenant", _TABLE, ["tenant_id", "id"])
    dialect = op.get_bind().dialect.name
    for trigger in _triggers():
        op.execute(guards.create_statement(dialect, trigger))


def downgrade() -> None:
    # Dropping the table drops its triggers with it (both dialects).
    op.drop_index("ix_supply_reports_tenant", table_name=_TABLE)
    op.drop_table(_TABLE)
