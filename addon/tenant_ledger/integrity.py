"""One check that the records are as the ledger wrote them, for every start and ``verify``.

The keyed journal chain, the keyed readings and statements (db/sealed.py), the triggers that
protect them (db/guards.py), and the key file that makes all of it hold (ledger_key.py).
"""

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenant_ledger import ledger_key
from tenant_ledger.db import guards, journal_store, sealed
from tenant_ledger.journal import Error
from tenant_ledger.ledger_key import KEY_FILE, LedgerKey


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def open_key(data_dir: Path, engine: Engine) -> LedgerKey:
    """The ledger's key, made on first start: it keys what is written from then on."""
    path = key_path(data_dir)
    if path.exists():
        return ledger_key.load(path)
    with engine.connect() as connection:
        next_ids, counts = sealed.positions(connection)
    key = ledger_key.generate(next_ids, counts)
    ledger_key.write(path, key)
    return key


def check(
    connection: sa.Connection, key: LedgerKey, *, every_reading: bool
) -> tuple[int, list[Error]]:
    """How many journal entries there are, and every problem found.

    ``every_reading`` False checks the readings only where it is cheap (no gap, the newest
    row's hash): at every start. ``verify`` checks each one.
    """
    entries, errors = journal_store.check(connection, key)
    errors += sealed.check(connection, sealed.STATEMENTS, key)
    reading_check = sealed.check if every_reading else sealed.quick_check
    errors += reading_check(connection, sealed.READINGS, key)
    errors += [
        Error(entry_id=0, code="trigger", message=problem, subject="database")
        for problem in guards.problems(connection)
    ]
    return len(entries), errors
