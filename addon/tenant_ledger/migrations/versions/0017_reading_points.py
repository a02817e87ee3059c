"""A reading names its point by number: ``reading_points`` holds each point id once.

Readings are most of the database, and the point id (text, often 20 characters or more) was
stored in every row and again in the (point, ts) index: about 30 of a reading's 110 bytes.
The table is built again with ``point`` (a number of ``reading_points``) in place of
``point_id``, every row copied with its id and keyed hash (the hash still covers the point id
itself, so the key is not needed here and ``verify`` finds nothing changed). The append-only
triggers go with the old table and are made again, on ``reading_points`` too.

Going down, the old table is built again from both.

Revision ID: 0017
Revises: 0016
"""

from alembic import op
import sqlalchemy as sa

from tenant_ledger.db import guards

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _dialect() -> str:
    return op.get_bind().dialect.name


def _triggers(*tables: str) -> list[guards.Trigger]:
    return [trigger for trigger in guards.for_dialect(_dialect()) if trigger.table in tables]


def _drop_triggers(*tables: str) -> None:
    for trigger in _triggers(*tables):
        on_table = f" ON {trigger.table}" if _dialect() == "postgresql" else ""
        op.execute(f"DROP TRIGGER IF EXISTS {trigger.name}{on_table}")


def _create_triggers(*tables: str) -> None:
    for trigger in _triggers(*tables):
        op.execute(guards.create_statement(_dialect(), trigger))


def _columns(
    point_column: sa.Column[int] | sa.Column[str], *, sequence: bool
) -> list[sa.Column[int] | sa.Column[str]]:
    return [
        # The ledger gives the ids itself since revision 0009 (db/sealed.py): no sequence.
        sa.Column(
            "id", sa.Integer(), primary_key=True, autoincrement="auto" if sequence else False
        ),
        point_column,
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("mac", sa.String(length=32), nullable=True),
    ]


def _rebuild(
    point_column: sa.Column[int] | sa.Column[str], key: str, copy: str, *, sequence: bool
) -> None:
    """Build ``readings`` again with ``point_column`` and the (``key``, ts) key; ``copy``
    fills it from ``readings_old``."""
    _drop_triggers("readings")
    op.rename_table("readings", "readings_old")
    # Constraint (and on PostgreSQL, index) names are the old table's until it is gone.
    if _dialect() == "postgresql":
        op.drop_constraint("readings_pkey", "readings_old", type_="primary")
        op.drop_constraint("reading_point_ts", "readings_old", type_="unique")
        op.drop_constraint("reading_energy", "readings_old", type_="check")
    op.create_table(
        "readings",
        *_columns(point_column, sequence=sequence),
        sa.UniqueConstraint(key, "ts", name="reading_point_ts"),
        sa.CheckConstraint("energy_wh >= 0", name="reading_energy"),
    )
    op.execute(copy)
    op.drop_table("readings_old")
    _create_triggers("readings")


def upgrade() -> None:
    op.create_table(
        "reading_points",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("point_id", sa.String(length=200), nullable=False, unique=True),
    )
    op.execute(
        "INSERT INTO reading_points (id, point_id) SELECT row_number() OVER (ORDER BY point_id), "
        "point_id FROM (SELECT DISTINCT point_id FROM readings) AS stored"
    )
    _rebuild(
        sa.Column("point", sa.Integer(), sa.ForeignKey("reading_points.id"), nullable=False),
        "point",
        "INSERT INTO readings (id, ts, energy_wh, seq, received_at_us, mac, point) "
        "SELECT r.id, r.ts, r.energy_wh, r.seq, r.received_at_us, r.mac, p.id "
        "FROM readings_old r JOIN reading_points p ON p.point_id = r.point_id",
        sequence=False,
    )
    _create_triggers("reading_points")


def downgrade() -> None:
    _drop_triggers("reading_points")
    _rebuild(
        sa.Column("point_id", sa.String(length=200), nullable=False),
        "point_id",
        "INSERT INTO readings (id, ts, energy_wh, seq, received_at_us, mac, point_id) "
        "SELECT r.id, r.ts, r.energy_wh, r.seq, r.received_at_us, r.mac, p.point_id "
        "FROM readings_old r JOIN reading_points p ON p.id = r.point",
        sequence=True,
    )
    op.drop_table("reading_points")
