"""Ledger databases for storage tests: one key, and every test on SQLite and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tenant_ledger import ledger_key
from tenant_ledger.db import engine as db_engine

KEY = ledger_key.generate(dict.fromkeys(ledger_key.SERIES, 1), dict.fromkeys(ledger_key.SERIES, 0))


@pytest.fixture(params=["sqlite", "postgresql"], name="engine")
def engine_on_both_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """The same tests on SQLite and on PostgreSQL: the SQL and the migrations are portable."""
    if request.param == "sqlite":
        url = db_engine.default_url(tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
    engine = db_engine.create_engine(url, key=KEY)
    yield engine
    engine.dispose()
