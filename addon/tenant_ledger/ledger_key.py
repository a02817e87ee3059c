"""The secret that keys the ledger's hashes, kept in a file outside the database.

Whoever can write to the database can insert rows and recompute plain SHA-256 hashes, so
journal entries, readings and statements are hashed with HMAC-SHA256 under a 256-bit key in
``ledger-key.json`` in the data directory: created on first start, readable by the ledger's user
only, backed up with the database and never stored in it.

A database that existed before it was keyed (an upgrade from ledger 0.2) keeps its plain
hashes for the rows it had: the file records, per series, the first id that is keyed
(``keyed_from``) and how many rows came before (``legacy_rows``). Both live in the file, so
neither can be moved by editing the database.
"""

from collections.abc import Mapping
from dataclasses import dataclass
import hashlib
import hmac
import json
import os
from pathlib import Path
import secrets
from typing import Any, Final

KEY_FILE: Final = "ledger-key.json"
SERIES: Final = ("journal", "readings", "statements")
"""The tables whose rows carry a keyed hash, one id after the other."""
_FORMAT: Final = 1
_SECRET_BYTES: Final = 32


class KeyFileError(Exception):
    """The key file is unreadable or not a ledger key."""


@dataclass(frozen=True, kw_only=True)
class LedgerKey:
    secret: bytes
    keyed_from: Mapping[str, int]
    """Per series, the first id whose hash is keyed; earlier ids keep their plain hashes."""
    legacy_rows: Mapping[str, int]
    """Per series, how many rows the database held when it was keyed."""

    def mac(self, data: bytes) -> str:
        """HMAC-SHA256 of ``data``, hex."""
        return self.digest(data).hex()

    def digest(self, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data``."""
        return hmac.digest(self.secret, data, "sha256")  # OpenSSL's one-shot HMAC

    def journal_digest(self, entry_id: int, data: bytes) -> str:
        """The hash of journal entry ``entry_id``: keyed from the key's starting point on."""
        if entry_id >= self.keyed_from["journal"]:
            return self.mac(data)
        return hashlib.sha256(data).hexdigest()

    def fingerprint(self) -> str:
        """Names the key without revealing it (logs, the published chain head)."""
        return self.mac(b"tenant-ledger key fingerprint")[:16]


def generate(next_ids: Mapping[str, int], row_counts: Mapping[str, int]) -> LedgerKey:
    """A new key for a database whose series would next write ``next_ids``."""
    return LedgerKey(
        secret=secrets.token_bytes(_SECRET_BYTES),
        keyed_from={series: next_ids[series] for series in SERIES},
        legacy_rows={series: row_counts[series] for series in SERIES},
    )


def _document(key: LedgerKey) -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "secret": key.secret.hex(),
        "keyed_from": dict(key.keyed_from),
        "legacy_rows": dict(key.legacy_rows),
    }


def write(path: Path, key: LedgerKey) -> None:
    """Create the key file, readable and writable by its owner only; never replaces one."""
    temporary = path.with_name(f".{path.name}.new")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(_document(key), file, indent=2)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())
    try:
        # A link fails if the file exists: an existing key is never overwritten.
        os.link(temporary, path)
    finally:
        temporary.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _ids(document: dict[str, Any], name: str) -> dict[str, int]:
    values = document.get(name)
    if not isinstance(values, dict) or set(values) != set(SERIES):
        raise KeyFileError(f"{name} must name {', '.join(SERIES)}")
    if not all(type(value) is int and value >= 0 for value in values.values()):
        raise KeyFileError(f"{name} must be whole numbers")
    return values


def load(path: Path) -> LedgerKey:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise KeyFileError(f"cannot read the ledger key {path}: {err}") from None
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise KeyFileError(f"{path} is not a ledger key (format {_FORMAT})")
    try:
        secret = bytes.fromhex(str(document.get("secret")))
    except ValueError:
        secret = b""
    if len(secret) != _SECRET_BYTES:
        raise KeyFileError(f"{path}: the secret must be {_SECRET_BYTES} bytes in hex")
    try:
        return LedgerKey(
            secret=secret,
            keyed_from=_ids(document, "keyed_from"),
            legacy_rows=_ids(document, "legacy_rows"),
        )
    except KeyFileError as err:
        raise KeyFileError(f"{path}: {err}") from None
