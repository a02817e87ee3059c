"""Which Home Assistant user is which tenant, in the ledger's schema with a foreign key.

The web UI used to create its own ``web_ha_user_tenants`` at start-up; its links are copied
over (those of tenants that exist) and the old table is dropped.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_LEGACY = "web_ha_user_tenants"


def upgrade() -> None:
    op.create_table(
        "ha_user_links",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("linked_at_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index(
        op.f("ix_ha_user_links_tenant_id"), "ha_user_links", ["tenant_id"], unique=False
    )
    if sa.inspect(op.get_bind()).has_table(_LEGACY):
        op.execute(
            "INSERT INTO ha_user_links (user_id, tenant_id, label, linked_at_us) "
            "SELECT user_id, tenant_id, label, linked_at_us FROM web_ha_user_tenants "
            "WHERE tenant_id IN (SELECT id FROM tenants)"
        )
        op.drop_table(_LEGACY)


def downgrade() -> None:
    op.drop_index(op.f("ix_ha_user_links_tenant_id"), table_name="ha_user_links")
    op.drop_table("ha_user_links")
