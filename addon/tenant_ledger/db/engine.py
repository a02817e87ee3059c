"""Opening the database: SQLite under the data directory by default, any PostgreSQL URL too."""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from tenant_ledger.ledger_key import LedgerKey

DATABASE_FILE = "ledger.sqlite3"
_KEY_OPTION = "tenant_ledger_key"


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


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", "tenant_ledger:migrations")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema forward (the service does this at every start)."""
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), revision)


def dialect_insert(engine: Engine, table: sa.Table) -> Any:
    """An ``INSERT`` that can say ``ON CONFLICT`` (both dialects spell it the same)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_ignoring_duplicates(engine: Engine, table: sa.Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the engine's dialect."""
    return dialect_insert(engine, table).on_conflict_do_nothing()
