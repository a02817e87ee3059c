"""Readings and statements carry a keyed hash (``mac``) over their id and content.

The ledger gives their ids itself, one after the other from the key's ``keyed_from`` on, so a
removed row leaves a gap, an inserted row has no valid hash (only the key makes one) and a
changed row a wrong one. Removing the newest rows leaves no gap: the published chain head
(``chain_head``) shows that from outside the database. Rows from before the database was keyed
have no ``mac``; the key file says how many there were.

No chain is needed between rows (the id is in each hash and the ids must be contiguous), so a
reading costs one HMAC and 32 characters: a 128-bit tag, plenty against forgery, half the
space of a full one (readings are most of the database).
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
import json
from operator import itemgetter
from typing import Any, Final

import orjson
import sqlalchemy as sa

from tenant_ledger.db import point_numbers
from tenant_ledger.db.engine import insert_many, key_of
from tenant_ledger.db.schema import HexBytes, journal, reading_points, readings, statements
from tenant_ledger.journal import Error
from tenant_ledger.ledger_key import LedgerKey

_STREAM_ROWS: Final = 10_000

type Row = tuple[Any, ...]


def _as_given(_connection: sa.Connection, rows: list[Row], macs: list[Any]) -> list[Row]:
    return [(*row, mac) for row, mac in zip(rows, macs, strict=True)]


def _point_numbers(connection: sa.Connection, rows: list[Row], macs: list[Any]) -> list[Row]:
    """Rows ``(id, point_id, …)`` as stored: ``(id, point number, …, mac)``."""
    numbers = point_numbers.numbers(connection, {row[1] for row in rows})
    return [(row[0], numbers[row[1]], *row[2:], mac) for row, mac in zip(rows, macs, strict=True)]


@dataclass(frozen=True, kw_only=True)
class Series:
    name: str
    """As in ``ledger_key.SERIES`` (and the subject of an ``Error``: the name, singular)."""
    table: sa.Table
    columns: tuple[str, ...]
    """What the hash covers, in this order (``id`` first)."""
    mac_chars: int
    hashed: sa.Select[Any]
    """The rows with every column the hash covers (readings: with their point's id)."""
    stored_columns: tuple[str, ...] = ()
    """The table's columns that ``stored`` answers values of, in its order (before ``mac``);
    empty: ``columns``."""
    stored: Callable[[sa.Connection, list[Row], list[Any]], list[Row]] = _as_given
    """The rows to insert, from values of ``columns`` and their hashes as stored (readings:
    with their point's number)."""

    @property
    def subject(self) -> str:
        return self.name.removesuffix("s")

    def mac(self, key: LedgerKey, row: Mapping[Any, Any]) -> str:
        return self.mac_of_values(key, itemgetter(*self.columns)(row))

    def row(self, **values: Any) -> Row:
        """A row to ``insert``, its values named: every column the hash covers but ``id``."""
        names = self.columns[1:]
        if values.keys() != set(names):
            raise TypeError(f"a row of {self.name} has {names}, got {sorted(values)}")
        return tuple(values[name] for name in names)

    def mac_of_values(self, key: LedgerKey, values: Row) -> str:
        """The hash of a row given as the values of ``columns``."""
        return key.mac(canonical([self.name, *values]))[: self.mac_chars]

    def stored_macs(self, key: LedgerKey, rows: Sequence[Row]) -> list[str] | list[bytes]:
        """``mac_of_values`` of each row as its column holds it: a ``HexBytes`` one its bytes."""
        name, digest = self.name, key.digest
        digests = [digest(canonical([name, *values])) for values in rows]
        if self._mac_in_bytes:
            size = self.mac_chars // 2
            return [mac[:size] for mac in digests]
        return [mac.hex()[: self.mac_chars] for mac in digests]

    @cached_property
    def _mac_in_bytes(self) -> bool:
        return isinstance(self.table.c.mac.type, HexBytes)


def canonical(values: Sequence[str | int | None]) -> bytes:
    """The bytes a row's hash covers: its values as compact JSON, UTF-8 unescaped.

    orjson writes exactly what ``json.dumps(values, separators=(",", ":"),
    ensure_ascii=False)`` does for text, integers and null, several times faster (a reading
    costs one); integers beyond 64 bits, which no column holds, take the slow way.
    """
    try:
        return orjson.dumps(values)
    except orjson.JSONEncodeError:
        return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()


READINGS: Final = Series(
    name="readings",
    table=readings,
    columns=("id", "point_id", "ts", "energy_wh", "seq", "received_at_us"),
    mac_chars=32,
    hashed=sa.select(readings, reading_points.c.point_id).select_from(point_numbers.WITH_POINT_IDS),
    stored_columns=("id", "point", "ts", "energy_wh", "seq", "received_at_us"),
    stored=_point_numbers,
)
STATEMENTS: Final = Series(
    name="statements",
    table=statements,
    columns=(
        "id",
        "tenant_id",
        "number",
        "period_start_us",
        "period_end_us",
        "issued_at_us",
        "due_at_us",
        "currency",
        "total_minor",
        "opening_minor",
        "closing_minor",
        "energy_seen",
        "body",
        "journal_entry_id",
    ),
    mac_chars=64,
    hashed=sa.select(statements),
)
ALL: Final = (READINGS, STATEMENTS)


def next_id(connection: sa.Connection, table: sa.Table) -> int:
    """The id after the newest row (1 for an empty table)."""
    newest = connection.execute(sa.select(sa.func.max(table.c.id))).scalar()
    return 1 if newest is None else int(newest) + 1


def insert(connection: sa.Connection, series: Series, rows: Sequence[Row]) -> None:
    """Insert ``rows`` (values of ``columns`` but ``id``) with the next ids and their hashes."""
    if not rows:
        return
    key = key_of(connection)
    first = max(next_id(connection, series.table), key.keyed_from[series.name])
    numbered = [(first + offset, *row) for offset, row in enumerate(rows)]
    macs: list[Any] = series.stored_macs(key, numbered)
    columns = (*(series.stored_columns or series.columns), "mac")
    insert_many(connection, series.table, columns, series.stored(connection, numbered, macs))


def head(connection: sa.Connection, series: Series) -> tuple[int, str | None] | None:
    """The newest row's id and hash (None for an empty table)."""
    table = series.table
    row = connection.execute(
        sa.select(table.c.id, table.c.mac).order_by(table.c.id.desc()).limit(1)
    ).first()
    return None if row is None else (row.id, row.mac)


def _rows(connection: sa.Connection, series: Series, start: int) -> Iterator[sa.Row[Any]]:
    table = series.table
    query = series.hashed.where(table.c.id >= start).order_by(table.c.id)
    yield from connection.execute(query.execution_options(yield_per=_STREAM_ROWS))


def _legacy_errors(connection: sa.Connection, series: Series, key: LedgerKey) -> list[Error]:
    table, start = series.table, key.keyed_from[series.name]
    legacy = connection.execute(
        sa.select(sa.func.count()).select_from(table).where(table.c.id < start)
    ).scalar()
    if legacy == key.legacy_rows[series.name]:
        return []
    return [
        Error(
            entry_id=start,
            code="legacy_rows",
            message=f"{legacy} {series.name} from before the key, the key file says "
            f"{key.legacy_rows[series.name]} (rows were removed or inserted)",
            subject=series.subject,
        )
    ]


def check(connection: sa.Connection, series: Series, key: LedgerKey) -> list[Error]:
    """Every keyed row: contiguous ids from ``keyed_from``, each with its own hash."""
    errors = _legacy_errors(connection, series, key)
    expected = key.keyed_from[series.name]
    for row in _rows(connection, series, expected):
        if row.id != expected:
            errors.append(
                Error(
                    entry_id=expected,
                    code="missing",
                    message=f"{series.name} {expected} to {row.id - 1} are missing (removed)",
                    subject=series.subject,
                )
            )
        if row.mac != series.mac(key, row._mapping):
            errors.append(
                Error(
                    entry_id=row.id,
                    code="hash_mismatch",
                    message="content does not match its keyed hash (changed, or not written "
                    "by the ledger)",
                    subject=series.subject,
                )
            )
        expected = row.id + 1
    return errors


def quick_check(connection: sa.Connection, series: Series, key: LedgerKey) -> list[Error]:
    """What is cheap at every start: no gap in the keyed ids, and the newest row's hash."""
    table, start = series.table, key.keyed_from[series.name]
    count, low, high = connection.execute(
        sa.select(sa.func.count(), sa.func.min(table.c.id), sa.func.max(table.c.id)).where(
            table.c.id >= start
        )
    ).one()
    errors = _legacy_errors(connection, series, key)
    if count and (low != start or high - low + 1 != count):
        errors.append(
            Error(
                entry_id=start,
                code="missing",
                message=f"{high - start + 1 - count} {series.name} from {start} on are missing "
                "(removed); `verify` names them",
                subject=series.subject,
            )
        )
    if count:
        newest = connection.execute(series.hashed.where(table.c.id == high)).one()
        if newest.mac != series.mac(key, newest._mapping):
            errors.append(
                Error(
                    entry_id=high,
                    code="hash_mismatch",
                    message="content does not match its keyed hash",
                    subject=series.subject,
                )
            )
    return errors


_KEYED_TABLES: Final = {"journal": journal, "readings": readings, "statements": statements}


def positions(connection: sa.Connection) -> tuple[dict[str, int], dict[str, int]]:
    """Per keyed table (journal, readings, statements): the next id and the rows it holds."""
    next_ids = {name: next_id(connection, table) for name, table in _KEYED_TABLES.items()}
    counts = {
        name: int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for name, table in _KEYED_TABLES.items()
    }
    return next_ids, counts
