"""Opening the database: SQLite under the data directory by default, any PostgreSQL URL too."""

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from tenant_ledger.ledger_key import LedgerKey

DATABASE_FILE = "ledger.sqlite3"
_KEY_OPTION = "tenant_ledger_key"
HEAD_REVISION = "0017"
"""The newest migration (a test holds it to alembic's head): a database there needs none."""


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / DATABASE_FILE}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work during a write; FULL fsyncs every commit so an acknowledged
    # reading or top-up survives a power cut, not only a process crash.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str, key: LedgerKey | None = None) -> Engine:
    """An engine for ``url`` with SQLite's durability settings applied to every connection.

    Only an engine with the ledger's ``key`` can write hashed rows (``key_of``).
    """
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine if key is None else with_key(engine, key)


def with_key(engine: Engine, key: LedgerKey) -> Engine:
    """The same engine (and pool), its connections carrying the key (an execution option)."""
    return engine.execution_options(**{_KEY_OPTION: key})


def key_of(connection: sa.Connection) -> LedgerKey:
    """The ledger key of a connection from ``with_key``."""
    key = connection.get_execution_options().get(_KEY_OPTION)
    if not isinstance(key, LedgerKey):
        raise RuntimeError("writing the journal, readings or statements needs the ledger key")
    return key


def stored_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty one), read without alembic."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema forward (the service does this at every start)."""
    if revision in {"head", HEAD_REVISION} and stored_revision(engine) == HEAD_REVISION:
        # The usual start: alembic (with Mako and Pygments, ~11 MiB) is not even loaded.
        return
    from tenant_ledger.db import migrate  # noqa: PLC0415

    migrate.upgrade(engine, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from tenant_ledger.db import migrate  # noqa: PLC0415

    migrate.downgrade(engine, revision)


def dialect_insert(engine: Engine, table: sa.Table) -> Any:
    """An ``INSERT`` that can say ``ON CONFLICT`` (both dialects spell it the same)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_ignoring_duplicates(engine: Engine, table: sa.Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the engine's dialect."""
    return dialect_insert(engine, table).on_conflict_do_nothing()


def insert_many(
    connection: sa.Connection, table: sa.Table, columns: tuple[str, ...], rows: Sequence[Any]
) -> None:
    """Insert ``rows`` (tuples of the values of ``columns``) in one executemany at the driver.

    ``connection.execute`` builds and processes a parameter dictionary per row, most of the
    time of inserting thousands of readings; here the statement is compiled once per dialect
    and the values go as they are: as the driver takes them (a ``HexBytes`` value as bytes).
    """
    if not rows:
        return
    sql, names, order = _compiled_insert(table, columns, connection.dialect)
    if order is not None:
        rows = [tuple(row[index] for index in order) for row in rows]
    parameters = rows if names is None else [dict(zip(names, row, strict=True)) for row in rows]
    connection.exec_driver_sql(sql, parameters)


@lru_cache(maxsize=32)
def _compiled_insert(
    table: sa.Table, columns: tuple[str, ...], dialect: sa.Dialect
) -> tuple[str, tuple[str, ...] | None, tuple[int, ...] | None]:
    """The driver's ``INSERT`` of ``columns``; the parameter names if it takes them by name
    (PostgreSQL), else where each of its parameters is among ``columns`` if not in that
    order."""
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    sent = tuple(compiled.positiontup or ()) if compiled.positional else columns
    if sorted(sent) != sorted(columns):
        raise RuntimeError(f"unexpected parameters in {compiled.string}")
    order = None if sent == columns else tuple(columns.index(name) for name in sent)
    return compiled.string, None if compiled.positional else sent, order
