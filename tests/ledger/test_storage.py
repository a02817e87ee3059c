"""Storage: migrations, the schema they build, and what the database itself refuses."""

from collections.abc import Iterator
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from tenant_ledger.db import engine as db_engine, journal_store
from tenant_ledger.db.schema import journal, journal_legs, metadata, tenants
from tenant_ledger.journal import CASH, Leg, Posting, tenant_account


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """The same tests on SQLite and on PostgreSQL: the SQL and the migrations are portable."""
    if request.param == "sqlite":
        url = db_engine.default_url(tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
    engine = db_engine.create_engine(url)
    yield engine
    engine.dispose()


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _post(engine: sa.Engine, amount: int) -> None:
    posting = Posting(
        kind="top_up",
        currency="EUR",
        actor="ana",
        reason="cash",
        tenant_id="t1",
        legs=(
            Leg(account=tenant_account("t1"), amount_minor=amount),
            Leg(account=CASH, amount_minor=-amount),
        ),
    )
    with engine.begin() as connection:
        journal_store.append(connection, posting, 1)


def test_upgrade_from_empty_builds_exactly_the_declared_schema(engine: sa.Engine) -> None:
    db_engine.upgrade(engine)
    assert _revision(engine) == "0002"
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


def test_upgrade_from_the_previous_revision_keeps_the_journal(engine: sa.Engine) -> None:
    db_engine.upgrade(engine, "0001")
    assert not sa.inspect(engine).has_table("statements")
    _post(engine, 1000)
    db_engine.upgrade(engine)
    assert sa.inspect(engine).has_table("statements")
    db_engine.downgrade(engine, "0001")
    assert not sa.inspect(engine).has_table("statements")
    db_engine.upgrade(engine)
    with engine.connect() as connection:
        assert journal_store.balances(connection, [tenant_account("t1")]) == {"tenant:t1": 1000}


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


def test_check_constraints_refuse_zero_legs_and_bad_hashes(engine: sa.Engine) -> None:
    db_engine.upgrade(engine)
    _post(engine, 1000)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            journal_legs.insert().values(entry_id=1, position=9, account="x", amount_minor=0)
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
