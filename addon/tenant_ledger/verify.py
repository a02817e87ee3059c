"""``python -m tenant_ledger verify``: re-check everything the ledger's integrity rests on.

The keyed journal chain and every invariant of its entries, each keyed reading and statement,
and the triggers that protect them (``integrity.check``). Exit status 0 when all is as the
ledger wrote it, 1 with one line per problem naming the entry, reading or statement, 2 when
there is nothing to check or no key to check with.
"""

import argparse
import json
import os
from pathlib import Path
import sys

from tenant_ledger import chain_head, integrity, ledger_key
from tenant_ledger.chain_head import ChainHead
from tenant_ledger.db import engine as db_engine
from tenant_ledger.journal import Error
from tenant_ledger.ledger_key import KeyFileError, LedgerKey


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
        "--seen-head",
        help="a chain head seen before, as published on {prefix}/ledger/chain (Home Assistant's "
        "Journal head sensor shows it): the database must not have gone back from it",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        help=f"the ledger key (default: {ledger_key.KEY_FILE} in the data directory)",
    )


def _seen_errors(seen: tuple[ChainHead, str | None], now: ChainHead, key: LedgerKey) -> list[Error]:
    """The database went back from a head seen before, or that head came from another key."""
    heads, fingerprint = seen
    problems = chain_head.rewound(heads, now)
    if fingerprint is not None and fingerprint != key.fingerprint():
        problems.append(f"the head seen was made with key {fingerprint}, not this one")
    return [Error(entry_id=0, code="rewound", message=text, subject="chain") for text in problems]


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
    try:
        seen = None if args.seen_head is None else chain_head.parse(json.loads(args.seen_head))
    except ValueError as err:
        sys.stdout.write(f"--seen-head: {err}\n")
        return 2
    engine = db_engine.create_engine(url)
    try:
        with engine.connect() as connection:
            entries, errors = integrity.check(connection, key, every_reading=True)
            if seen is not None:
                errors += _seen_errors(seen, chain_head.read(connection), key)
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
