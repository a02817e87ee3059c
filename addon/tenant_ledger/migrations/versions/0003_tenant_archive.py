"""Archived tenants: a time stamp on the tenant row; nothing of theirs is ever deleted.

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("archived_at_us", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "archived_at_us")
