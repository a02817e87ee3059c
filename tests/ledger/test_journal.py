"""The journal's invariants as pure validators, and ``verify`` finding a tampered entry."""

from collections.abc import Callable
import dataclasses
import os
from pathlib import Path
import sqlite3
import subprocess
import sys

import pytest

from tenant_ledger import integrity
from tenant_ledger.db import engine as db_engine, journal_store
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.journal import (
    ACCOUNTS,
    CASH,
    GENESIS_HASH,
    Entry,
    Leg,
    Posting,
    PostingKind,
    chain,
    tenant_account,
    validate,
    validate_balanced,
    validate_chain,
    validate_kinds,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _posting(amount: int, tenant: str = "t1") -> Posting:
    return Posting(
        kind="top_up",
        currency="EUR",
        actor="ana",
        reason="cash",
        tenant_id=tenant,
        legs=(
            Leg(account=tenant_account(tenant), amount_minor=amount),
            Leg(account=CASH, amount_minor=-amount),
        ),
    )


def _chain(*amounts: int) -> list[Entry]:
    entries, previous = [], GENESIS_HASH
    for entry_id, amount in enumerate(amounts, 1):
        entry = chain(entry_id, entry_id * 10, _posting(amount), previous)
        entries.append(entry)
        previous = entry.hash
    return entries


def test_an_intact_chain_has_no_errors() -> None:
    assert validate(_chain(100, 250, 75)) == []


def test_a_changed_amount_breaks_its_own_hash() -> None:
    entries = _chain(100, 250, 75)
    entries[1] = dataclasses.replace(entries[1], posting=_posting(2500))
    errors = validate_chain(entries)
    assert [(e.entry_id, e.code) for e in errors] == [(2, "hash_mismatch")]


def test_a_removed_entry_breaks_the_link_of_the_next() -> None:
    entries = _chain(100, 250, 75)
    del entries[1]
    codes = {(e.entry_id, e.code) for e in validate_chain(entries)}
    assert (3, "broken_link") in codes
    assert (3, "sequence") in codes


def test_unbalanced_legs_are_reported() -> None:
    posting = dataclasses.replace(_posting(100), legs=(Leg(account="tenant:t1", amount_minor=100),))
    entry = chain(1, 1, posting, GENESIS_HASH)
    assert [e.code for e in validate_balanced([entry])] == ["unbalanced"]


def _verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenant_ledger", "verify", "--data-dir", str(data_dir)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon")},
        capture_output=True,
        text=True,
        check=False,
    )


def _ledger_with_entries(data_dir: Path) -> None:
    engine = db_engine.create_engine(db_engine.default_url(data_dir))
    db_engine.upgrade(engine)
    engine = db_engine.with_key(engine, integrity.open_key(data_dir, engine))
    with engine.begin() as connection:
        for amount in (100, 250, 75):
            journal_store.append(connection, _posting(amount), 1)
    engine.dispose()


def _tamper(data_dir: Path, change: Callable[[sqlite3.Connection], object]) -> None:
    """What an attacker with file access does: drop the triggers, then edit."""
    connection = sqlite3.connect(data_dir / db_engine.DATABASE_FILE)
    for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    ).fetchall():
        connection.execute(f"DROP TRIGGER {name}")
    change(connection)
    connection.commit()
    connection.close()


def test_verify_passes_an_intact_journal(tmp_path: Path) -> None:
    _ledger_with_entries(tmp_path)
    result = _verify(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "3 entries" in result.stdout


def test_verify_names_the_tampered_entry(tmp_path: Path) -> None:
    _ledger_with_entries(tmp_path)
    _tamper(
        tmp_path,
        lambda c: c.execute(
            "UPDATE journal_legs SET amount_minor = amount_minor * 10 WHERE entry_id = 2"
        ),
    )
    result = _verify(tmp_path)
    assert result.returncode == 1
    assert "entry 2: hash_mismatch" in result.stdout
    assert "entry 1:" not in result.stdout


def test_verify_reports_a_deleted_entry(tmp_path: Path) -> None:
    _ledger_with_entries(tmp_path)
    _tamper(
        tmp_path,
        lambda c: (
            c.execute("DELETE FROM journal_legs WHERE entry_id = 2"),
            c.execute("DELETE FROM journal WHERE id = 2"),
        ),
    )
    result = _verify(tmp_path)
    assert result.returncode == 1
    assert "entry 3: broken_link" in result.stdout


def test_verify_without_a_database(tmp_path: Path) -> None:
    assert _verify(tmp_path).returncode == 2


def _audited(data_dir: Path) -> None:
    """An operator action after the entries: the audit log records the journal's head."""
    engine = db_engine.create_engine(db_engine.default_url(data_dir))
    with engine.begin() as connection:
        audit(connection, Action(actor="ana", reason="x", now_us=2), "check", "t1", {})
    engine.dispose()


def test_verify_reports_a_removed_last_entry(tmp_path: Path) -> None:
    """Deleting the newest entries leaves a valid chain; the audit log's anchor exposes it."""
    _ledger_with_entries(tmp_path)
    _audited(tmp_path)
    _tamper(
        tmp_path,
        lambda c: (
            c.execute("DELETE FROM journal_legs WHERE entry_id = 3"),
            c.execute("DELETE FROM journal WHERE id = 3"),
        ),
    )
    result = _verify(tmp_path)
    assert result.returncode == 1
    assert "entry 3: truncated: " in result.stdout
    assert "now ends at entry 2" in result.stdout


def test_verify_reports_a_leg_without_its_entry(tmp_path: Path) -> None:
    """A smuggled leg would move a balance; verify names it and balances ignore it."""
    _ledger_with_entries(tmp_path)
    _tamper(
        tmp_path,
        lambda c: c.execute(
            "INSERT INTO journal_legs (entry_id, position, account, amount_minor) "
            "VALUES (99, 0, 'tenant:t1', 100000)"
        ),
    )
    result = _verify(tmp_path)
    assert result.returncode == 1
    assert "entry 99: orphan_leg: a leg of tenant:t1 (100000) belongs to no entry" in result.stdout
    engine = db_engine.create_engine(db_engine.default_url(tmp_path))
    with engine.connect() as connection:
        assert journal_store.balances(connection, ["tenant:t1"]) == {"tenant:t1": 425}
    engine.dispose()


def test_verify_reports_a_gap_in_leg_positions(tmp_path: Path) -> None:
    _ledger_with_entries(tmp_path)
    _tamper(
        tmp_path,
        lambda c: c.execute(
            "UPDATE journal_legs SET position = 5 WHERE entry_id = 1 AND position = 1"
        ),
    )
    result = _verify(tmp_path)
    assert result.returncode == 1
    assert "entry 1: leg_positions" in result.stdout


def test_every_posting_kind_and_account_of_the_chart_is_accepted() -> None:
    entries = [
        chain(1, 1, dataclasses.replace(_posting(5), kind=kind), GENESIS_HASH)
        for kind in PostingKind
    ]
    legs = tuple(Leg(account=account, amount_minor=1) for account in ACCOUNTS)
    entries.append(chain(2, 2, dataclasses.replace(_posting(5), legs=legs), GENESIS_HASH))
    assert validate_kinds(entries) == []


def test_an_unknown_kind_or_account_is_reported_by_the_verifier() -> None:
    strange = dataclasses.replace(
        _posting(100),
        kind="gift",
        legs=(
            Leg(account=tenant_account("t1"), amount_minor=100),
            Leg(account="funds:offshore", amount_minor=-100),
        ),
    )
    errors = validate_kinds([chain(7, 1, strange, GENESIS_HASH)])
    assert [(e.entry_id, e.code, e.message) for e in errors] == [
        (7, "kind", "unknown posting kind 'gift'"),
        (7, "account", "unknown account 'funds:offshore'"),
    ]
    bare_prefix = dataclasses.replace(
        _posting(1),
        legs=(Leg(account="tenant:", amount_minor=1), Leg(account=CASH, amount_minor=-1)),
    )
    assert [e.code for e in validate_kinds([chain(8, 1, bare_prefix, GENESIS_HASH)])] == ["account"]


def test_the_journal_store_refuses_an_unknown_kind_and_writes_nothing(tmp_path: Path) -> None:
    _ledger_with_entries(tmp_path)
    engine = db_engine.create_engine(db_engine.default_url(tmp_path))
    engine = db_engine.with_key(engine, integrity.open_key(tmp_path, engine))
    with engine.begin() as connection:
        before = journal_store.head(connection)
        with pytest.raises(ValueError, match="unknown posting kind 'gift'"):
            journal_store.append(connection, dataclasses.replace(_posting(5), kind="gift"), 2)
        assert journal_store.head(connection) == before
    engine.dispose()
