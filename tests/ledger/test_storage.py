"""Storage: migrations, the schema they build, and what the database itself refuses."""

import json
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from tenant_ledger.billing.statement_document import from_json, validate_document
from tenant_ledger.db import engine as db_engine, journal_store, rating_store, sealed
from tenant_ledger.db.schema import (
    ha_user_links,
    journal,
    journal_legs,
    metadata,
    metering_points,
    quarantined_readings,
    reading_points,
    statements,
    tenants,
)
from tenant_ledger.journal import tenant_account

from . import legacy
from .storage_fixtures import KEY, engine_on_both_databases  # noqa: F401 (the engine fixture)

HEAD = "0017"


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _post(engine: sa.Engine, amount: int) -> None:
    with engine.begin() as connection:
        journal_store.append(connection, legacy.top_up(amount), 1)


def test_upgrade_from_empty_builds_exactly_the_declared_schema(engine: sa.Engine) -> None:
    db_engine.upgrade(engine)
    assert _revision(engine) == HEAD
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_sqlite_is_durable_wal_with_full_sync(tmp_path: Path) -> None:
    engine = db_engine.create_engine(db_engine.default_url(tmp_path))
    db_engine.upgrade(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


# Each earlier revision and what the next one adds (a table, or a column of a table).
EARLIER = [
    ("0001", "statements", None),
    ("0002", "tenants", "archived_at_us"),
    ("0003", "ha_user_links", None),
    ("0004", "reading_conflicts", None),
    ("0005", "metering_points", "kind"),
    ("0006", "quarantined_readings", None),
    ("0007", "statements", "closing_minor"),
    ("0008", "parked_messages", None),
    ("0009", "audit_log", "principal"),
    ("0010", "supply_reports", None),
    ("0012", "plan_tariffs", None),
    ("0013", "leak_watches", None),
    ("0015", "unregistered_point_units", None),
    ("0016", "reading_points", None),
]


def _has(engine: sa.Engine, table: str, column: str | None) -> bool:
    inspector = sa.inspect(engine)
    if column is None:
        return inspector.has_table(table)
    return column in {item["name"] for item in inspector.get_columns(table)}


@pytest.mark.parametrize(("revision", "table", "column"), EARLIER, ids=[r for r, *_ in EARLIER])
def test_upgrade_from_an_earlier_revision_keeps_the_journal(
    engine: sa.Engine, revision: str, table: str, column: str | None
) -> None:
    db_engine.upgrade(engine, revision)
    assert not _has(engine, table, column)
    legacy.post(engine, 1000)
    legacy.building(engine)
    db_engine.upgrade(engine)
    assert _revision(engine) == HEAD
    assert _has(engine, table, column)
    db_engine.downgrade(engine, revision)
    assert not _has(engine, table, column)
    db_engine.upgrade(engine)
    with engine.connect() as connection:
        assert journal_store.balances(connection, [tenant_account("t1")]) == {"tenant:t1": 1000}
        point = connection.execute(sa.select(metering_points)).one()
    assert (point.id, point.kind, point.allocation, point.tariff_id, point.max_power_w) == (
        "p1",
        "tenant",
        None,
        None,
        100_000,
    )


_READINGS_0016 = [  # (id, point_id, ts, energy_wh, seq, received_at_us)
    (1, "mqtt:meter:room-2", 1_795_132_800, 1_000, None, 7),
    (2, "ha:water_201", 1_795_132_800, 52, 3, 7),
    (3, "mqtt:meter:room-2", 1_795_136_400, 1_700, None, 9),
]


def _readings_0016(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.exec_driver_sql(
                "SELECT id, point_id, ts, energy_wh, seq, received_at_us, mac FROM readings "
                "ORDER BY id"
            )
        ]


def test_readings_keep_their_ids_values_and_keyed_hashes_through_0017(engine: sa.Engine) -> None:
    """0017 names a reading's point by number: every reading stays, and so does its hash."""
    db_engine.upgrade(engine, "0016")
    with engine.begin() as connection:
        for values in _READINGS_0016:
            row = dict(zip(sealed.READINGS.columns, values, strict=True))
            connection.execute(
                sa.text(
                    "INSERT INTO readings (id, point_id, ts, energy_wh, seq, received_at_us, mac) "
                    "VALUES (:id, :point_id, :ts, :energy_wh, :seq, :received_at_us, :mac)"
                ),
                row | {"mac": sealed.READINGS.mac(KEY, row)},
            )
    stored = _readings_0016(engine)
    db_engine.upgrade(engine)
    with engine.connect() as connection:
        assert sealed.check(connection, sealed.READINGS, KEY) == []
        assert [
            (register.ts, register.energy_wh)
            for register in rating_store.readings_after(connection, ["mqtt:meter:room-2"], {})[
                "mqtt:meter:room-2"
            ]
        ] == [(1_795_132_800, 1_000), (1_795_136_400, 1_700)]
        assert connection.execute(sa.select(reading_points.c.point_id)).scalars().all() == [
            "ha:water_201",
            "mqtt:meter:room-2",
        ]
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.update(reading_points).values(point_id="ha:other"))
    db_engine.downgrade(engine, "0016")
    assert _readings_0016(engine) == stored


def test_the_web_uis_old_link_table_moves_into_the_ledger_schema(engine: sa.Engine) -> None:
    """Links the web UI kept in its own ``web_ha_user_tenants`` survive the upgrade."""
    db_engine.upgrade(engine, "0003")
    legacy.building(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE web_ha_user_tenants (user_id VARCHAR(64) PRIMARY KEY, "
            "tenant_id VARCHAR(64) NOT NULL, label VARCHAR(200) NOT NULL, "
            "linked_at_us BIGINT NOT NULL)"
        )
        connection.exec_driver_sql(
            "INSERT INTO web_ha_user_tenants VALUES ('u-bob', 't1', 'Bob', 5), "
            "('u-gone', 'no-such-tenant', 'Gone', 6)"
        )
    db_engine.upgrade(engine)
    assert not sa.inspect(engine).has_table("web_ha_user_tenants")
    with engine.connect() as connection:
        links = [tuple(row) for row in connection.execute(sa.select(ha_user_links))]
    assert links == [("u-bob", "t1", "Bob", 5)]
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            ha_user_links.insert().values(
                user_id="u-x", tenant_id="no-such-tenant", label="X", linked_at_us=1
            )
        )


def test_the_database_refuses_an_unknown_point_kind(engine: sa.Engine) -> None:
    db_engine.upgrade(engine)
    legacy.building(engine)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            metering_points.update().where(metering_points.c.id == "p1").values(kind="meter")
        )


@pytest.mark.parametrize(
    "statement",
    [
        sa.update(journal).values(reason="changed"),
        sa.delete(journal_legs),
        sa.update(journal_legs).values(amount_minor=1),
        sa.delete(journal),
    ],
    ids=["update-entry", "delete-legs", "update-leg", "delete-entry"],
)
def test_the_database_refuses_to_change_the_journal(
    engine: sa.Engine, statement: sa.Executable
) -> None:
    db_engine.upgrade(engine)
    _post(engine, 1000)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(statement)


def _legs(connection: sa.Connection, entry_id: int, *amounts: int) -> None:
    for position, amount in enumerate(amounts):
        connection.execute(
            journal_legs.insert().values(
                entry_id=entry_id, position=position, account=f"a{position}", amount_minor=amount
            )
        )


def _post_raw(engine: sa.Engine, entry_id: int, *amounts: int) -> None:
    """Legs, then their entry, in one transaction (how the ledger writes)."""
    with engine.begin() as connection:
        _legs(connection, entry_id, *amounts)
        connection.execute(
            journal.insert().values(
                id=entry_id,
                ts_us=1,
                kind="x",
                currency="EUR",
                actor="a",
                reason="",
                prev_hash="0" * 64,
                hash=f"{entry_id:064d}",
            )
        )


@pytest.mark.parametrize(
    "amounts", [(100, -99), (100,), ()], ids=["not-zero-sum", "one-leg", "no-legs"]
)
def test_the_database_refuses_an_unbalanced_entry_when_it_is_written(
    engine: sa.Engine, amounts: tuple[int, ...]
) -> None:
    """Not only at the next start: the entry itself is refused (legs go in first)."""
    db_engine.upgrade(engine)
    with pytest.raises(IntegrityError, match="journal entries must balance"):
        _post_raw(engine, 1, *amounts)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(journal)).scalar() == 0


def test_the_database_refuses_a_leg_added_to_a_posted_entry_or_legs_without_one(
    engine: sa.Engine,
) -> None:
    db_engine.upgrade(engine)
    _post_raw(engine, 1, 100, -100)
    with pytest.raises(IntegrityError, match="already posted"), engine.begin() as connection:
        _legs(connection, 1, 0, 0, 5)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        _legs(connection, 2, 100, -100)  # never followed by its entry: refused at the commit
    with engine.connect() as connection:
        assert journal_store.balances(connection, ["a0", "a1", "a2"]) == {
            "a0": 100,
            "a1": -100,
            "a2": 0,
        }


def test_check_constraints_refuse_zero_legs_and_bad_hashes(engine: sa.Engine) -> None:
    db_engine.upgrade(engine)
    _post(engine, 1000)
    with pytest.raises(IntegrityError, match="leg_amount_nonzero"), engine.begin() as connection:
        connection.execute(  # a leg of the next entry: only the CHECK can refuse it
            journal_legs.insert().values(entry_id=2, position=0, account="x", amount_minor=0)
        )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            journal.insert().values(
                id=2,
                ts_us=1,
                kind="x",
                currency="EUR",
                actor="a",
                reason="",
                prev_hash="0",
                hash="short",
            )
        )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            tenants.insert().values(
                id="t1",
                site_id="nowhere",
                name="x",
                plan_id="p",
                exempt=False,
                cutoff_approved=False,
                created_at_us=0,
            )
        )


def test_the_database_refuses_a_maximum_power_of_zero(engine: sa.Engine) -> None:
    db_engine.upgrade(engine)
    legacy.building(engine)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(metering_points.update().values(max_power_w=0))


def test_a_quarantined_value_is_kept_once(engine: sa.Engine) -> None:
    db_engine.upgrade(engine)
    row = {
        "point_id": "p1",
        "ts": 1_793_836_800,
        "energy_wh": 215_999_102_110_901,
        "reason": "above_max_power",
        "detail": "…",
        "received_at_us": 0,
    }
    with engine.begin() as connection:
        connection.execute(quarantined_readings.insert().values(**row))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(quarantined_readings.insert().values(**row))


LEGACY_STATEMENT = {
    "tenant_id": "t1",
    "tenant_name": "T",
    "currency": "EUR",
    "period_start": "2026-11-01T00:00:00+01:00",
    "period_end": "2026-12-01T00:00:00+01:00",
    "issued_at": "2026-12-05T07:00:00+00:00",
    "due_at": "2026-12-01T00:00:00+01:00",
    "opening_balance": "0.00",
    "energy_kwh": "100.000",
    "lines": [
        {"label": "energy", "amount": "30.00", "energy_kwh": "100.000", "unit_price": "0.30"},
        {"label": "standing", "amount": "15.00", "days": "30/1", "unit_price": "0.50"},
    ],
    "taxes": [{"rate": "0.13", "base": "45.00", "tax": "5.85"}],
    "net": "45.00",
    "tax": "5.85",
    "total": "50.85",
    "credits": [
        {"time": "2026-11-10T12:00:00+00:00", "kind": "top_up", "amount": "4.44", "description": ""}
    ],
    "closing_balance": "-47.54",
    "points": [{"point": "p1", "energy_kwh": "100.000", "events": []}],
    "late_readings": [],
    "charged_earlier": "0.00",
    "charged_ahead": "1.13",
    "books": {
        "journal_through": 7,
        "closing_minor": -4754,
        "ahead_minor": 113,
        "energy_seen": {"1793487600000000": [3000, 100000]},
    },
}


def test_statements_issued_before_0008_keep_their_numbers_in_columns_and_the_new_shape(
    engine: sa.Engine,
) -> None:
    """The December example of issue 14: closing -47.54 from 0, 50.85 charged, 1.13 ahead."""
    db_engine.upgrade(engine, "0007")
    legacy.building(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO statements (id, tenant_id, period_start_us, period_end_us, "
                "issued_at_us, due_at_us, currency, total_minor, body) VALUES "
                "(3, 't1', 1793487600000000, 1796079600000000, 1796454000000000, "
                "1796079600000000, 'EUR', 5085, :body)"
            ),
            {"body": json.dumps(LEGACY_STATEMENT)},
        )
    db_engine.upgrade(engine)
    with engine.connect() as connection:
        row = connection.execute(sa.select(statements)).one()
    assert (row.number, row.opening_minor, row.closing_minor) == ("2026-00003", 0, -4754)
    assert json.loads(row.energy_seen) == {"1793487600000000": [3000, 100000]}
    body = json.loads(row.body)
    assert "books" not in body
    document = from_json(body)
    # It adds up; its due date stays the one it was issued with (before the issue date).
    assert validate_document(document) == ["due date is not after the issue date"]
    assert [(r.label, r.amount_minor) for r in document.late] == [
        ("charged ahead (next period)", 113),
        ("charged earlier", 0),
    ]
