"""The audit log records who the ledger authenticated beside the actor name a caller gives.

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: rows written before this revision never recorded it (and stay unchanged).
    op.add_column("audit_log", sa.Column("principal", sa.String(length=200), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35), as in revision 0006: a batch copy would lose the
    # table's append-only triggers.
    op.drop_column("audit_log", "principal")
