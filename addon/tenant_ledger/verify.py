"""``python -m tenant_ledger verify``: re-check the journal's hash chain and every invariant.

Exit status 0 when the journal is intact, 1 with one line per problem naming the entry.
"""

import argparse
import os
from pathlib import Path
import sys

from tenant_ledger.db import engine as db_engine, journal_store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("TENANT_LEDGER_DATA_DIR", "/data")),
        help="directory holding the SQLite database",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TENANT_LEDGER_DATABASE_URL"),
        help="SQLAlchemy URL instead of the SQLite file (e.g. postgresql://…)",
    )


def run(args: argparse.Namespace) -> int:
    url = args.database_url
    if url is None:
        if not (args.data_dir / db_engine.DATABASE_FILE).exists():
            sys.stdout.write(f"no ledger database in {args.data_dir}\n")
            return 2
        url = db_engine.default_url(args.data_dir)
    engine = db_engine.create_engine(url)
    try:
        with engine.connect() as connection:
            entries, errors = journal_store.check(connection)
    finally:
        engine.dispose()
    for error in errors:
        sys.stdout.write(f"{error}\n")
    if errors:
        sys.stdout.write(f"journal FAILED verification: {len(errors)} problem(s)\n")
        return 1
    sys.stdout.write(f"journal OK: {len(entries)} entries, hash chain intact\n")
    return 0
