"""Someone with write access to the database, but not to the key file, cannot hide an edit.

Each case on SQLite and PostgreSQL, against books kept by the real ledger: a forged top-up
added with plain INSERTs, the newest postings removed, an entry rewritten with its chain and the
audit log's heads recomputed, protecting triggers dropped, disabled or replaced, readings and
statements changed, removed or forged, and a write while the ledger runs. The attacker here is
careful: where a trigger is in the way, it is put back afterwards (SQLite) or bypassed for the
session (PostgreSQL), so only the data itself can give the edit away.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass
import io
import json
import stat
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
import pytest
import sqlalchemy as sa

from custom_components.tenant_metering.chain_watch import parse_chain_head, rewinds
from tenant_ledger import chain_head, cli, integrity, ledger_key
from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.db import engine as db_engine, journal_store
from tenant_ledger.journal import CASH, GENESIS_HASH, Leg, Posting, chain, tenant_account
from tenant_ledger.mqtt import BrokerSettings
from tenant_ledger.service import LedgerService
from tenant_sim.mosquitto import MosquittoBroker

from . import legacy
from .conftest import Api, FakeClock
from .mqtt_probe import MqttProbe

P1, P2 = "mqtt:a4cf12ab34cd:1", "mqtt:a4cf12ab34cd:2"
NOV_5 = 1_793_836_800
DEC_2_US = 1_796_176_800_000_000  # November's statements are due
CHAIN_TOPIC = "tenant_metering/ledger/chain"


def _readings(point: str, start: int, hours: int, per_hour: int) -> dict[str, Any]:
    return {
        "readings": [
            {"point": point, "ts": start + hour * 3600, "energy_wh": hour * per_hour}
            for hour in range(hours)
        ]
    }


class Attacker:
    """Plain SQL on the database, as its owner: no key, none of the ledger's code."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)  # no foreign keys enforced on SQLite, no key
        self.dialect = self.engine.dialect.name

    def run(self, *statements: str, bypass: bool = True, **params: Any) -> None:
        """``bypass``: with the protecting triggers out of the way, and back afterwards."""
        with self.engine.begin() as connection:
            saved: list[tuple[str, str]] = []
            if bypass and self.dialect == "postgresql":
                connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            elif bypass:
                saved = [
                    (row.name, row.sql)
                    for row in connection.exec_driver_sql(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                    )
                ]
                for name, _sql in saved:
                    connection.exec_driver_sql(f"DROP TRIGGER {name}")
            for statement in statements:
                connection.execute(sa.text(statement), params)
            for _name, sql in saved:
                connection.exec_driver_sql(sql)

    def scalar(self, query: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(sa.text(query)).scalar()

    def append_plain(self, amount: int, *, bypass: bool = False) -> int:
        """A top-up chained after the tail with a plain SHA-256 hash (what passed before)."""
        with self.engine.connect() as connection:
            tail = journal_store.head(connection)
        entry_id, previous = (tail[0] + 1, tail[1]) if tail else (1, GENESIS_HASH)
        posting = Posting(
            kind="top_up",
            currency="EUR",
            actor="ana",
            reason="cash at desk",
            tenant_id="t1",
            legs=(
                Leg(account=tenant_account("t1"), amount_minor=amount),
                Leg(account=CASH, amount_minor=-amount),
            ),
        )
        entry = chain(entry_id, 1, posting, previous)
        self.run(
            # Legs first: the database now insists on it, and on their balance.
            "INSERT INTO journal_legs (entry_id, position, account, amount_minor) "
            "VALUES (:id, 0, 'tenant:t1', :amount), (:id, 1, 'funds:cash', -:amount)",
            "INSERT INTO journal (id, ts_us, kind, tenant_id, currency, actor, reason, "
            "prev_hash, hash) VALUES (:id, 1, 'top_up', 't1', 'EUR', 'ana', 'cash at desk', "
            ":prev, :hash)",
            bypass=bypass,
            id=entry_id,
            amount=amount,
            prev=previous,
            hash=entry.hash,
        )
        return entry_id


@dataclass
class Books:
    """A building's books kept by the real ledger, then closed (the ledger stopped)."""

    config: LedgerConfig
    clock: FakeClock
    attacker: Attacker
    seen_head: str = ""
    """The chain head as the ledger last published it (what Home Assistant remembers)."""

    async def open(self) -> LedgerService:
        service = LedgerService(self.config, clock=self.clock)
        await service.start()
        return service

    def verify(self, *extra: str) -> tuple[int, list[str]]:
        """``python -m tenant_ledger verify``: exit status and its lines."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = cli.main(
                [
                    "verify",
                    "--data-dir",
                    str(self.config.data_dir),
                    "--database-url",
                    self.config.database_url,
                    *extra,
                ]
            )
        return status, out.getvalue().splitlines()


@pytest.fixture
async def books(
    make_config: Callable[..., LedgerConfig],
    database_url: str,
    clock: FakeClock,
    socket_enabled: None,
) -> AsyncIterator[Books]:
    """Two tenants, readings, a top-up (audited), November's statements, December readings."""
    config = make_config(database_url=database_url)
    service = LedgerService(config, clock=clock)
    await service.start()
    async with TestClient(TestServer(create_app(service))) as client:
        api = Api(client)
        await api.building(tenants={"t1": P1, "t2": P2})
        await api.call("POST", "/api/readings", _readings(P1, NOV_5, 6, 700), expect=200)
        await api.call("POST", "/api/readings", _readings(P2, NOV_5, 6, 300), expect=200)
        topup = {"amount": "20.00", "reason": "cash"}
        await api.call("POST", "/api/tenants/t1/topups", topup, expect=201)
        clock.now_us = DEC_2_US
        await api.call("POST", "/api/statements/run", expect=200)
        december = clock.epoch - 5 * 3600
        await api.call("POST", "/api/readings", _readings(P1, december, 3, 9000), expect=200)
    assert service.key is not None
    seen = chain_head.document(service._chain, service.key)
    await service.stop()
    opened = Books(config, clock, Attacker(config.database_url), json.dumps(seen))
    yield opened
    opened.attacker.engine.dispose()


async def test_books_kept_by_the_ledger_verify(books: Books) -> None:
    status, lines = books.verify("--seen-head", books.seen_head)
    assert status == 0, lines
    assert lines[-1].startswith("journal OK: ")
    seen = json.loads(books.seen_head)
    assert seen["statements"]["id"] == 2
    assert seen["readings"]["id"] == 15


async def test_a_forged_top_up_added_with_plain_inserts_is_found_and_never_trusted(
    books: Books,
) -> None:
    """No trigger dropped: the entry balances and chains, but only the key makes its hash."""
    forged = books.attacker.append_plain(100_000)
    status, lines = books.verify()
    assert status == 1
    assert lines[:-1] == [
        f"entry {forged}: hash_mismatch: content does not match its hash (the entry was changed)"
    ]
    service = await books.open()
    try:
        assert service.read_only
        assert [str(error) for error in service.integrity_errors] == lines[:-1]
    finally:
        await service.stop()


async def test_removing_the_newest_postings_shows_against_the_head_seen_before(
    books: Books,
) -> None:
    """After the last audit row, and ahead of the key: only a head from outside can tell."""
    newest = books.attacker.scalar("SELECT max(id) FROM journal")
    books.attacker.run(
        f"DELETE FROM journal_legs WHERE entry_id = {newest}",
        f"DELETE FROM journal WHERE id = {newest}",
    )
    status, lines = books.verify("--seen-head", books.seen_head)
    assert status == 1
    assert lines[:-1] == [f"chain: rewound: the journal went back from {newest} to {newest - 1}"]


async def test_a_rewritten_entry_with_its_chain_and_audit_heads_recomputed_is_found(
    books: Books,
) -> None:
    """The 0.2 attack: change an amount, recompute every later hash and the audit anchors."""
    engine = books.attacker.engine
    with engine.connect() as connection:
        entries = journal_store.load_entries(connection)
    target = next(entry for entry in entries if entry.posting.kind == "top_up")
    amounts = {0: 1_000_000, 1: -1_000_000}
    books.attacker.run(
        *(
            f"UPDATE journal_legs SET amount_minor = {amount} "
            f"WHERE entry_id = {target.id} AND position = {position}"
            for position, amount in amounts.items()
        )
    )
    previous = target.prev_hash
    rechained = {}
    for entry in entries[target.id - 1 :]:
        posting = entry.posting
        if entry.id == target.id:
            legs = tuple(
                Leg(account=leg.account, amount_minor=amounts[n])
                for n, leg in enumerate(posting.legs)
            )
            posting = Posting(**{**_fields(posting), "legs": legs})
        again = chain(entry.id, entry.ts_us, posting, previous)
        rechained[entry.id] = (previous, again.hash)
        previous = again.hash
    for entry_id, (prev_hash, hash_) in rechained.items():
        books.attacker.run(
            "UPDATE journal SET prev_hash = :prev, hash = :hash WHERE id = :id",
            prev=prev_hash,
            hash=hash_,
            id=entry_id,
        )
    with engine.connect() as connection:
        audits = connection.execute(sa.text("SELECT id, details FROM audit_log")).all()
    for audit_id, details in audits:
        document = json.loads(details)
        if document.get("journal_head") and document["journal_head"][0] in rechained:
            document["journal_head"][1] = rechained[document["journal_head"][0]][1]
            books.attacker.run(
                "UPDATE audit_log SET details = :details WHERE id = :id",
                details=json.dumps(document, sort_keys=True),
                id=audit_id,
            )
    status, lines = books.verify()
    assert status == 1
    assert {line.split(":")[0] for line in lines[:-1]} == {f"entry {i}" for i in rechained}
    assert all("hash_mismatch" in line for line in lines[:-1])


def _fields(posting: Posting) -> dict[str, Any]:
    return {name: getattr(posting, name) for name in Posting.__dataclass_fields__}


async def test_dropped_disabled_or_replaced_triggers_are_found(books: Books) -> None:
    attacker = books.attacker
    if attacker.dialect == "sqlite":
        attacker.run(
            "DROP TRIGGER readings_no_delete",
            "DROP TRIGGER journal_no_update",
            "CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal BEGIN SELECT 1; END",
            "DROP TRIGGER journal_balanced",
            bypass=False,
        )
        expected = [
            "trigger journal_no_update on journal is changed",
            "trigger readings_no_delete on readings is missing",
            "trigger journal_balanced on journal is missing",
        ]
    else:
        attacker.run(
            "DROP TRIGGER readings_append_only ON readings",
            "ALTER TABLE journal DISABLE TRIGGER journal_append_only",
            "CREATE OR REPLACE FUNCTION tenant_ledger_balanced() RETURNS trigger AS "
            "$$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql",
            bypass=False,
        )
        expected = [
            "trigger journal_append_only on journal is disabled",
            "trigger readings_append_only on readings is missing",
            "trigger journal_balanced on journal is changed",
        ]
    status, lines = books.verify()
    assert status == 1
    assert sorted(lines[:-1]) == sorted(f"database: trigger: {text}" for text in expected)


async def test_changed_removed_or_forged_readings_and_statements_are_found(
    books: Books,
) -> None:
    attacker = books.attacker
    attacker.run(
        "UPDATE readings SET energy_wh = energy_wh + 5000 WHERE id = 3",
        "DELETE FROM readings WHERE id = 8",
        "UPDATE statements SET body = replace(body, 't1', 't9') WHERE id = 1",
    )
    # Inserting needs no trigger out of the way: a made-up hash is all it can bring.
    attacker.run(
        "INSERT INTO readings (id, point, ts, energy_wh, received_at_us, mac) "
        "VALUES (16, (SELECT id FROM reading_points WHERE point_id = :point), :ts, 99999999, 1, "
        ":mac)",
        bypass=False,
        point=P1,
        ts=NOV_5 + 10 * 3600,
        mac="0" * 32,
    )
    status, lines = books.verify()
    assert status == 1
    assert lines[:-1] == [
        "statement 1: hash_mismatch: content does not match its keyed hash (changed, or not "
        "written by the ledger)",
        "reading 3: hash_mismatch: content does not match its keyed hash (changed, or not "
        "written by the ledger)",
        "reading 8: missing: readings 8 to 8 are missing (removed)",
        "reading 16: hash_mismatch: content does not match its keyed hash (changed, or not "
        "written by the ledger)",
    ]
    service = await books.open()  # the cheap start-up check sees the gap and the forged tail
    try:
        assert service.read_only
        assert {error.code for error in service.integrity_errors} == {"missing", "hash_mismatch"}
    finally:
        await service.stop()


async def test_a_write_while_the_ledger_runs_stops_it_before_it_builds_on_it(
    books: Books,
) -> None:
    service = await books.open()
    try:
        async with TestClient(TestServer(create_app(service))) as client:
            api = Api(client)
            topup = {"amount": "1.00", "reason": "cash"}
            await api.call("POST", "/api/tenants/t2/topups", topup, expect=201)
            books.attacker.append_plain(500)
            refused = await api.call("POST", "/api/tenants/t2/topups", topup, expect=503)
            assert refused["error"]["code"] == "read_only"
            assert service.read_only
            (error,) = service.integrity_errors
            assert (error.code, error.subject) == ("foreign_write", "chain")
            assert str(error).startswith("chain: foreign_write: the journal head changed from ")
            readings = _readings(P2, books.clock.epoch - 3600, 2, 10)
            await api.call("POST", "/api/readings", readings, expect=503)
    finally:
        await service.stop()


# -- the key ----------------------------------------------------------------------------------


async def test_the_key_file_is_private_and_another_key_verifies_nothing(books: Books) -> None:
    path = integrity.key_path(books.config.data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = ledger_key.load(path)
    assert dict(key.keyed_from) == dict.fromkeys(ledger_key.SERIES, 1)
    other = books.config.data_dir / "other-key.json"
    ledger_key.write(other, ledger_key.generate(key.keyed_from, key.legacy_rows))
    status, lines = books.verify("--key-file", str(other))
    assert status == 1
    assert {line.split(":")[1].strip() for line in lines[:-1]} == {"hash_mismatch"}
    with pytest.raises(FileExistsError):  # an existing key is never overwritten
        ledger_key.write(other, key)
    assert sorted(p.name for p in books.config.data_dir.iterdir() if "key" in p.name) == [
        "ledger-key.json",
        "other-key.json",
    ]
    path.unlink()
    assert books.verify()[0] == 2


async def test_an_unreadable_key_file_leaves_the_ledger_read_only(books: Books) -> None:
    integrity.key_path(books.config.data_dir).write_text("{}", encoding="utf-8")
    service = await books.open()
    try:
        assert service.read_only
        assert [error.code for error in service.integrity_errors] == ["key"]
    finally:
        await service.stop()


# -- books kept by ledger 0.2 (no key) ---------------------------------------------------------


async def test_books_of_ledger_0_2_keep_verifying_and_are_keyed_from_the_upgrade_on(
    make_config: Callable[..., LedgerConfig],
    database_url: str,
    clock: FakeClock,
    socket_enabled: None,
) -> None:
    engine = db_engine.create_engine(database_url)
    db_engine.upgrade(engine, "0007")
    legacy.building(engine)
    for amount in (1000, 250, 75):
        legacy.post(engine, amount)
    legacy.readings(engine, *((NOV_5 + hour * 3600, hour * 100) for hour in range(4)))
    legacy.statement(engine, 1_790_000_000_000_000, 1_792_000_000_000_000)
    engine.dispose()
    config = make_config(database_url=database_url)
    books = Books(config, clock, Attacker(database_url))
    service = await books.open()
    try:
        assert not service.read_only, service.integrity_errors
        async with TestClient(TestServer(create_app(service))) as client:
            api = Api(client)
            await api.call("POST", "/api/points", {"id": P1, "name": "p"}, expect=201)
            topup = {"amount": "5.00", "reason": "cash"}
            await api.call("POST", "/api/tenants/t1/topups", topup, expect=201)
            await api.call("POST", "/api/readings", _readings(P1, NOV_5, 2, 10), expect=200)
    finally:
        await service.stop()
    key = ledger_key.load(integrity.key_path(config.data_dir))
    assert dict(key.keyed_from) == {"journal": 4, "readings": 5, "statements": 2}
    assert dict(key.legacy_rows) == {"journal": 3, "readings": 4, "statements": 1}
    status, lines = books.verify()
    assert status == 0, lines
    assert lines[-1].startswith("journal OK: 4 entries")

    # The plain part is now anchored by the keyed part: re-chaining it breaks the link.
    books.attacker.run("UPDATE journal_legs SET amount_minor = -amount_minor WHERE entry_id = 2")
    with books.attacker.engine.connect() as connection:
        entries = journal_store.load_entries(connection)
    previous = entries[0].hash
    for entry in entries[1:3]:
        again = chain(entry.id, entry.ts_us, entry.posting, previous)
        books.attacker.run(
            "UPDATE journal SET prev_hash = :prev, hash = :hash WHERE id = :id",
            prev=previous,
            hash=again.hash,
            id=entry.id,
        )
        previous = again.hash
    books.attacker.run("DELETE FROM readings WHERE id = 2")
    status, lines = books.verify()
    assert status == 1
    assert lines[:-1] == [
        "entry 4: broken_link: previous hash does not match",
        "reading 5: legacy_rows: 3 readings from before the key, the key file says 4 (rows "
        "were removed or inserted)",
    ]


# -- the chain head, published -----------------------------------------------------------------


async def test_the_chain_head_is_published_and_shows_a_truncation_to_home_assistant(
    mosquitto: MosquittoBroker,
    make_config: Callable[..., LedgerConfig],
    database_url: str,
    clock: FakeClock,
    socket_enabled: None,
) -> None:
    """The real ledger's retained head, read by the integration's own watcher."""
    config = make_config(
        BrokerSettings(host=mosquitto.host, port=mosquitto.port), database_url=database_url
    )
    books = Books(config, clock, Attacker(database_url))
    service = await books.open()
    async with TestClient(TestServer(create_app(service))) as client:
        api = Api(client)
        await api.building(tenants={"t1": P1})
        topup = {"amount": "1.00", "reason": "cash"}
        await api.call("POST", "/api/tenants/t1/topups", topup, expect=201)
        # A burst of energy postings (the newest head goes out, at most once a second), none
        # of them anchored in the audit log.
        for hour in range(5):
            reading = _readings(P1, NOV_5 + hour * 3600, 1, 0)
            reading["readings"][0]["energy_wh"] = hour * 500
            await api.call("POST", "/api/readings", reading, expect=200)
    assert service.key is not None
    newest = service._chain["journal"].id
    with MqttProbe(mosquitto, subscribe=CHAIN_TOPIC) as probe:
        raw, _ = await asyncio.to_thread(
            probe.wait_for, CHAIN_TOPIC, lambda p: json.loads(p)["journal"]["id"] == newest
        )
    assert json.loads(raw) == chain_head.document(service._chain, service.key)
    await service.stop()

    books.attacker.run(
        f"DELETE FROM journal_legs WHERE entry_id = {newest}",
        f"DELETE FROM journal WHERE id = {newest}",
    )
    second = await books.open()
    try:
        assert not second.read_only  # nothing inside the database tells
        with MqttProbe(mosquitto, subscribe=CHAIN_TOPIC) as late:
            after, _ = await asyncio.to_thread(
                late.wait_for, CHAIN_TOPIC, lambda p: json.loads(p)["journal"]["id"] < newest
            )
    finally:
        await second.stop()
    seen = parse_chain_head(json.loads(raw))
    assert [str(rewind) for rewind in rewinds(seen, parse_chain_head(json.loads(after)))] == [
        f"journal: {seen.series['journal']} → {newest - 1} "
        f"({json.loads(after)['journal']['hash'][:12]})"
    ]
