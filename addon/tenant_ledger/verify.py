"""``python -m tenant_ledger verify``: re-check everything the ledger's integrity rests on.

The keyed journal chain and every invariant of its entries, each keyed reading and statement,
and the triggers that protect them (``integrity.check``). Exit status 0 when all is as the
ledger wrote it, 1 with one line per problem naming the entry, reading or statement, 2 when
there is nothing to check or no key to check with.
"""

import argparse
import os
from pathlib import Path
import sys

from tenant_ledger import integrity, ledger_key
from tenant_ledger.db import engine as db_engine
from tenant_ledger.ledger_key import KeyFileError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("TENANT_LEDGER_DATA_DIR", "/data")),
        help="directory holding the SQLite database and the ledger key",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TENANT_LEDGER_DATABASE_URL"),
        help="SQLAlchemy URL instead of the SQLite file (e.g. postgresql://…)",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        help=f"the ledger key (default: {ledger_key.KEY_FILE} in the data directory)",
    )


def run(args: argparse.Namespace) -> int:
    url = args.database_url
    if url is None:
        if not (args.data_dir / db_engine.DATABASE_FILE).exists():
            sys.stdout.write(f"no ledger database in {args.data_dir}\n")
            return 2
        url = db_engine.default_url(args.data_dir)
    try:
        key = ledger_key.load(args.key_file or integrity.key_path(args.data_dir))
    except KeyFileError as err:
        sys.stdout.write(f"{err}\n")
        return 2
    engine = db_engine.create_engine(url)
    try:
        with engine.connect() as connection:
            entries, errors = integrity.check(connection, key, every_reading=True)
    finally:
        engine.dispose()
    for error in errors:
        sys.stdout.write(f"{error}\n")
    if errors:
        sys.stdout.write(f"ledger FAILED verification: {len(errors)} problem(s)\n")
        return 1
    sys.stdout.write(
        f"journal OK: {entries} entries, hash chain intact; readings, statements and the "
        f"protecting triggers as the ledger wrote them (key {key.fingerprint()})\n"
    )
    return 0
