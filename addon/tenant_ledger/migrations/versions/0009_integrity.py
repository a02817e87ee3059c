"""Ingestion that no payload stops, and tamper evidence that holds.

- ``parked_messages``: unreadable readings messages, acknowledged and kept for the landlord.
- ``readings.mac`` and ``statements.mac``: the keyed hash of each row written from now on
  (db/sealed.py); older rows keep NULL, the key file counts them.
- Readings and statements become append-only like the journal.
- An entry is refused at write time unless its legs balance: its legs go in first (their
  foreign key to the entry is deferred to the commit), then the entry, which a trigger checks;
  no leg may be added to a posted entry.

The trigger text comes from db/guards.py, which ``verify`` compares the database with.

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa

from tenant_ledger.db import guards

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_NEW_APPEND_ONLY = ("readings", "statements")
_BALANCE_GUARDS = ("journal_balanced", "journal_legs_open_entry")
_NEW_FUNCTIONS = ("tenant_ledger_balanced", "tenant_ledger_entry_posted")


def _dialect() -> str:
    return op.get_bind().dialect.name


def _new_triggers(*, legs_rebuilt: bool) -> list[guards.Trigger]:
    """Those this revision adds (and, where journal_legs is rebuilt, 0001's on it again)."""
    tables = (*_NEW_APPEND_ONLY, "journal_legs") if legs_rebuilt else _NEW_APPEND_ONLY
    return [
        trigger
        for trigger in guards.for_dialect(_dialect())
        if trigger.name in _BALANCE_GUARDS
        or (trigger.table in tables and trigger.name not in _BALANCE_GUARDS)
    ]


def _defer_legs_foreign_key(*, deferred: bool) -> None:
    """The legs' foreign key to their entry, checked at the commit (or at once again)."""
    if _dialect() == "postgresql":
        name = (
            op.get_bind()
            .exec_driver_sql(
                "SELECT conname FROM pg_constraint "
                "WHERE conrelid = 'journal_legs'::regclass AND contype = 'f'"
            )
            .scalar_one()
        )
        timing = "DEFERRABLE INITIALLY DEFERRED" if deferred else "NOT DEFERRABLE"
        op.execute(f"ALTER TABLE journal_legs ALTER CONSTRAINT {name} {timing}")
        return
    # SQLite cannot alter a constraint: the table is built again (its triggers go with it).
    op.create_table(
        "_journal_legs_new",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_minor <> 0", name="leg_amount_nonzero"),
        sa.CheckConstraint("length(account) > 0", name="leg_account"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal.id"],
            deferrable=True if deferred else None,
            initially="DEFERRED" if deferred else None,
        ),
        sa.PrimaryKeyConstraint("entry_id", "position"),
    )
    op.execute(
        "INSERT INTO _journal_legs_new (entry_id, position, account, amount_minor) "
        "SELECT entry_id, position, account, amount_minor FROM journal_legs"
    )
    op.drop_table("journal_legs")
    op.rename_table("_journal_legs_new", "journal_legs")
    op.create_index(op.f("ix_journal_legs_account"), "journal_legs", ["account"], unique=False)


def upgrade() -> None:
    op.create_table(
        "parked_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("first_received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("last_received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("times", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.add_column("readings", sa.Column("mac", sa.String(length=32), nullable=True))
    op.add_column("statements", sa.Column("mac", sa.String(length=64), nullable=True))
    _defer_legs_foreign_key(deferred=True)
    dialect = _dialect()
    if dialect == "postgresql":
        for statement in guards.function_statements():
            op.execute(statement)
    for trigger in _new_triggers(legs_rebuilt=dialect == "sqlite"):
        op.execute(guards.create_statement(dialect, trigger))


def downgrade() -> None:
    dialect = _dialect()
    for trigger in _new_triggers(legs_rebuilt=False):
        on_table = f" ON {trigger.table}" if dialect == "postgresql" else ""
        op.execute(f"DROP TRIGGER {trigger.name}{on_table}")
    if dialect == "postgresql":
        for name in _NEW_FUNCTIONS:
            op.execute(f"DROP FUNCTION {name}()")
    _defer_legs_foreign_key(deferred=False)
    if dialect == "sqlite":  # revision 0001's triggers on the rebuilt journal_legs
        for trigger in guards.for_dialect("sqlite"):
            if trigger.table == "journal_legs" and trigger.name not in _BALANCE_GUARDS:
                op.execute(guards.create_statement(dialect, trigger))
    # Plain DROP COLUMN (SQLite >= 3.35), as in revision 0006.
    op.drop_column("statements", "mac")
    op.drop_column("readings", "mac")
    op.drop_table("parked_messages")
