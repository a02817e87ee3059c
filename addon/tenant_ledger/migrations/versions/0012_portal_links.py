"""The tenant portal's own door: sign-in links (token + PIN, hashed) and their sessions.

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("pin_salt", sa.String(length=32), nullable=False),
        sa.Column("pin_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at_us", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "length(token_hash) = 64 AND length(pin_salt) = 32 AND length(pin_hash) = 64",
            name="ck_portal_links_hashes",
        ),
        sa.CheckConstraint(
            "revoked_at_us IS NULL OR revoked_at_us >= created_at_us",
            name="ck_portal_links_revoked_after_created",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_portal_links_tenant_id", "portal_links", ["tenant_id"])
    op.create_table(
        "portal_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=False),
        sa.Column("ended_at_us", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("length(session_hash) = 64", name="ck_portal_sessions_hash"),
        sa.CheckConstraint(
            "created_at_us <= last_seen_us AND last_seen_us <= expires_at_us",
            name="ck_portal_sessions_times",
        ),
        sa.CheckConstraint(
            "ended_at_us IS NULL OR ended_at_us >= created_at_us",
            name="ck_portal_sessions_ended_after_created",
        ),
        sa.ForeignKeyConstraint(["link_id"], ["portal_links.id"]),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    op.create_index("ix_portal_sessions_link_id", "portal_sessions", ["link_id"])


def downgrade() -> None:
    op.drop_index("ix_portal_sessions_link_id", table_name="portal_sessions")
    op.drop_table("portal_sessions")
    op.drop_index("ix_portal_links_tenant_id", table_name="portal_links")
    op.drop_table("portal_links")
