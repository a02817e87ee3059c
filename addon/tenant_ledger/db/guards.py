"""The triggers by which the database itself refuses what must never happen, and their check.

- Append-only: no UPDATE or DELETE (nor TRUNCATE on PostgreSQL) of the journal, its legs, the
  audit log (revision 0001), readings and statements (0009), supply reports (0011) and the
  numbers readings name their points by (0017).
- Balanced at write time (revision 0009): an entry's legs are inserted first, then the entry,
  which is refused unless it has at least two legs summing to zero; no leg may be added to an
  entry already posted. The legs' foreign key is deferred to the commit, so a leg without its
  entry cannot be committed either.

Whoever can write to the database can drop or disable a trigger (or replace its function), so
``problems`` compares what the database has with these definitions: ``verify`` and every start
report any difference.
"""

from collections.abc import Iterator
from dataclasses import dataclass
import re
from typing import Final

import sqlalchemy as sa

from tenant_ledger.db.schema import APPEND_ONLY_TABLES

_APPEND_ONLY_FUNCTION: Final = "tenant_ledger_append_only"
_BALANCED_FUNCTION: Final = "tenant_ledger_balanced"
_POSTED_FUNCTION: Final = "tenant_ledger_entry_posted"
_UNBALANCED: Final = "journal entries must balance"

# What an entry's legs must be when the entry goes in (both dialects).
_LEGS_WRONG: Final = (
    "(SELECT count(*) FROM journal_legs WHERE entry_id = NEW.id) < 2 "
    "OR (SELECT coalesce(sum(amount_minor), 0) FROM journal_legs WHERE entry_id = NEW.id) <> 0"
)
_ENTRY_POSTED: Final = "EXISTS (SELECT 1 FROM journal WHERE id = NEW.entry_id)"

# PostgreSQL function bodies (``prosrc``).
_FUNCTIONS: Final = {
    _APPEND_ONLY_FUNCTION: " BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END ",
    # check_violation: an integrity error to clients, as SQLite's RAISE(ABORT) is.
    _BALANCED_FUNCTION: (
        f" BEGIN IF {_LEGS_WRONG} THEN RAISE EXCEPTION '{_UNBALANCED} (entry %)', NEW.id "
        "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END "
    ),
    _POSTED_FUNCTION: (
        f" BEGIN IF {_ENTRY_POSTED} THEN RAISE EXCEPTION '{_UNBALANCED}: entry % is already "
        "posted', NEW.entry_id USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END "
    ),
}


@dataclass(frozen=True, kw_only=True)
class Trigger:
    name: str
    table: str
    sqlite: str
    """SQLite's CREATE TRIGGER, exactly as ``sqlite_master`` keeps it."""
    postgresql: str
    """What ``pg_get_triggerdef`` answers (PostgreSQL 11 and later)."""
    function: str | None
    """The PostgreSQL function it runs (None: not on PostgreSQL)."""


def _append_only(table: str) -> Iterator[Trigger]:
    for action in ("UPDATE", "DELETE"):
        yield Trigger(
            name=f"{table}_no_{action.lower()}",
            table=table,
            sqlite=f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
            postgresql="",
            function=None,
        )
    yield Trigger(
        name=f"{table}_append_only",
        table=table,
        sqlite="",
        postgresql=f"CREATE TRIGGER {table}_append_only BEFORE DELETE OR UPDATE ON public.{table} "
        f"FOR EACH ROW EXECUTE FUNCTION {_APPEND_ONLY_FUNCTION}()",
        function=_APPEND_ONLY_FUNCTION,
    )
    yield Trigger(
        name=f"{table}_no_truncate",
        table=table,
        sqlite="",
        postgresql=f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON public.{table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {_APPEND_ONLY_FUNCTION}()",
        function=_APPEND_ONLY_FUNCTION,
    )


def _guard(name: str, table: str, when: str, message: str, function: str) -> Trigger:
    return Trigger(
        name=name,
        table=table,
        sqlite=f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {when} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
        postgresql=f"CREATE TRIGGER {name} BEFORE INSERT ON public.{table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        function=function,
    )


TRIGGERS: Final = (
    *(trigger for table in APPEND_ONLY_TABLES for trigger in _append_only(table)),
    _guard("journal_balanced", "journal", _LEGS_WRONG, _UNBALANCED, _BALANCED_FUNCTION),
    _guard(
        "journal_legs_open_entry",
        "journal_legs",
        _ENTRY_POSTED,
        f"{_UNBALANCED}: the entry is already posted",
        _POSTED_FUNCTION,
    ),
)


def for_dialect(dialect: str) -> list[Trigger]:
    """The triggers a database of that dialect must have."""
    return [t for t in TRIGGERS if (t.postgresql if dialect == "postgresql" else t.sqlite)]


def function_statements() -> list[str]:
    """PostgreSQL: the functions the triggers run (created or replaced by their definition)."""
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $${body}$$ LANGUAGE plpgsql"
        for name, body in _FUNCTIONS.items()
    ]


def create_statement(dialect: str, trigger: Trigger) -> str:
    if dialect == "postgresql":
        return trigger.postgresql.replace(" ON public.", " ON ")
    return trigger.sqlite


def _normal(sql: str | None) -> str:
    return re.sub(r"\s+", " ", sql or "").strip()


def problems(connection: sa.Connection) -> list[str]:
    """Each protecting trigger that is missing, disabled or not as defined here."""
    if connection.dialect.name == "postgresql":
        return _postgresql_problems(connection)
    found: dict[str, str] = {
        row.name: row.sql
        for row in connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        )
    }
    return [
        f"trigger {trigger.name} on {trigger.table} is "
        f"{'missing' if trigger.name not in found else 'changed'}"
        for trigger in for_dialect("sqlite")
        if _normal(found.get(trigger.name)) != _normal(trigger.sqlite)
    ]


def _postgresql_problems(connection: sa.Connection) -> list[str]:
    found = {
        row.tgname: row
        for row in connection.exec_driver_sql(
            "SELECT t.tgname, t.tgenabled, pg_get_triggerdef(t.oid) AS definition, "
            "p.proname, p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE NOT t.tgisinternal"
        )
    }
    errors = []
    for trigger in for_dialect("postgresql"):
        row = found.get(trigger.name)
        if row is None:
            errors.append(f"trigger {trigger.name} on {trigger.table} is missing")
        elif row.tgenabled not in ("O", "A"):
            errors.append(f"trigger {trigger.name} on {trigger.table} is disabled")
        elif _normal(row.definition) != _normal(trigger.postgresql) or (
            _normal(row.prosrc) != _normal(_FUNCTIONS[row.proname])
        ):
            errors.append(f"trigger {trigger.name} on {trigger.table} is changed")
    return errors
