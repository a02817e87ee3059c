"""A reading names its point by number: ``reading_points`` holds each point id once.

Readings are most of the database, and the point id (text, often 20 characters or more) was
stored in every row and again in the (point, ts) index: about 30 of a reading's 110 bytes.
The table is built again with ``point`` (a number of ``reading_points``) in place of
``point_id`` and the keyed hash as its 16 bytes rather than 32 hexadecimal characters, every
row copied with its id and hash (which still covers the point id itself, so the key is not
needed here and ``verify`` finds nothing changed). The append-only triggers go with the old
table and are made again, on ``reading_points`` too.

Going down, the old table is built again from both.

Revision ID: 0017
Revises: 0016
"""

from typing import Any

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


def _readings(point: sa.Column[Any], key: str, *, upgraded: bool) -> None:
    """Build ``readings`` with ``point`` and the (``key``, ts) key, as 0017 has it or 0016 had."""
    mac: sa.types.TypeEngine[Any] = sa.LargeBinary(length=16) if upgraded else sa.String(32)
    op.create_table(
        "readings",
        # The ledger gives the ids itself since revision 0009 (db/sealed.py): no sequence.
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=not upgraded),
        point,
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("mac", mac),
        sa.UniqueConstraint(key, "ts", name="reading_point_ts"),
        sa.CheckConstraint("energy_wh >= 0", name="reading_energy"),
    )


def _set_old_readings_aside() -> None:
    """``readings_old``, without its triggers and (PostgreSQL) the names the new table takes."""
    _drop_triggers("readings")
    op.rename_table("readings", "readings_old")
    if _dialect() == "postgresql":
        op.drop_constraint("readings_pkey", "readings_old", type_="primary")
        op.drop_constraint("reading_point_ts", "readings_old", type_="unique")
        op.drop_constraint("reading_energy", "readings_old", type_="check")


def _unhex_on_sqlite() -> None:
    """SQLite before 3.41 has no ``unhex``: the ledger's Python lends it for the copy."""
    if _dialect() == "sqlite":
        connection = op.get_bind().connection.driver_connection
        assert connection is not None
        connection.create_function("unhex", 1, _unhex, deterministic=True)


def _unhex(text: str | None) -> bytes | None:
    return None if text is None else bytes.fromhex(text)


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
    _set_old_readings_aside()
    _readings(
        sa.Column("point", sa.Integer(), sa.ForeignKey("reading_points.id"), nullable=False),
        "point",
        upgraded=True,
    )
    _unhex_on_sqlite()
    mac = "decode(r.mac, 'hex')" if _dialect() == "postgresql" else "unhex(r.mac)"
    op.execute(
        "INSERT INTO readings (id, point, ts, energy_wh, seq, received_at_us, mac) "  # noqa: S608
        f"SELECT r.id, p.id, r.ts, r.energy_wh, r.seq, r.received_at_us, {mac} "
        "FROM readings_old r JOIN reading_points p ON p.point_id = r.point_id"
    )
    op.drop_table("readings_old")
    _create_triggers("readings", "reading_points")


def downgrade() -> None:
    _drop_triggers("reading_points")
    _set_old_readings_aside()
    _readings(
        sa.Column("point_id", sa.String(length=200), nullable=False), "point_id", upgraded=False
    )
    mac = "encode(r.mac, 'hex')" if _dialect() == "postgresql" else "lower(hex(r.mac))"
    op.execute(
        "INSERT INTO readings (id, point_id, ts, energy_wh, seq, received_at_us, mac) "  # noqa: S608
        f"SELECT r.id, p.point_id, r.ts, r.energy_wh, r.seq, r.received_at_us, "
        f"CASE WHEN r.mac IS NULL THEN NULL ELSE {mac} END "
        "FROM readings_old r JOIN reading_points p ON p.id = r.point"
    )
    op.drop_table("readings_old")
    _create_triggers("readings")
    op.drop_table("reading_points")
