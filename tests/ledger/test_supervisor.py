"""Inside the Supervisor: options, broker and discovery, against a fake Supervisor API.

The Supervisor is the one thing simulated; the broker is a real Mosquitto and the ledger a real
subprocess started the way the add-on's s6 service starts it.
"""

import asyncio
import json
from pathlib import Path
import sqlite3
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tenant_ledger.config import LedgerConfig
from tenant_ledger.db.engine import DATABASE_FILE, default_url
from tenant_ledger.service import LedgerService
from tenant_sim.mosquitto import MosquittoBroker

from .ledger_process import LedgerProcess
from .mqtt_probe import MqttProbe

SUPERVISOR_TOKEN = "supervisor-secret"


async def test_the_add_on_reads_options_uses_the_supervisor_broker_and_announces_itself(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    calls: list[tuple[str, str, Any]] = []
    announced = asyncio.Event()

    async def mqtt_service(request: web.Request) -> web.Response:
        calls.append(("GET", request.path, request.headers.get("Authorization")))
        data = {"host": mosquitto.host, "port": mosquitto.port, "username": "", "password": ""}
        return web.json_response({"result": "ok", "data": {**data, "ssl": False}})

    async def discovery(request: web.Request) -> web.Response:
        calls.append(("POST", request.path, await request.json()))
        announced.set()
        return web.json_response({"result": "ok", "data": {"uuid": "abc"}})

    supervisor = web.Application()
    supervisor.router.add_get("/services/mqtt", mqtt_service)
    supervisor.router.add_post("/discovery", discovery)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    options = {"currency": "GBP", "timezone": "Europe/London", "mqtt_prefix": "building_a"}
    (data_dir / "options.json").write_text(json.dumps(options), encoding="utf-8")

    async with TestServer(supervisor, host="127.0.0.1") as fake:
        env = {
            "SUPERVISOR_TOKEN": SUPERVISOR_TOKEN,
            "TENANT_LEDGER_SUPERVISOR_URL": str(fake.make_url("")).rstrip("/"),
            "HOSTNAME": "a0d7b954-tenant-metering-ledger",
        }
        ledger = LedgerProcess(data_dir, env=env)
        with MqttProbe(mosquitto, subscribe="building_a/ledger/#") as probe:
            await asyncio.to_thread(ledger.start)
            try:
                await asyncio.wait_for(announced.wait(), 30)
                online = await asyncio.to_thread(
                    probe.wait_for, "building_a/ledger/status", lambda p: p == b"online"
                )
                assert online[0] == b"online"
                discovered = calls[-1][2]
                health = await asyncio.to_thread(ledger.call, "GET", "/api/health")
                token = discovered["config"]["token"]
                tenants = await asyncio.to_thread(ledger.call, "GET", "/api/tenants", None, token)
            finally:
                assert await asyncio.to_thread(ledger.stop) == 0
    assert calls[0] == ("GET", "/services/mqtt", f"Bearer {SUPERVISOR_TOKEN}")
    assert discovered == {
        "service": "tenant_metering",
        "config": {"url": f"http://a0d7b954-tenant-metering-ledger:{ledger.port}", "token": token},
    }
    assert tenants == {"tenants": []}
    assert health["currency"] == "GBP"
    token_file = data_dir / "home-assistant-token"
    assert token_file.read_text(encoding="utf-8") == token
    assert token_file.stat().st_mode & 0o777 == 0o600


def _fake_supervisor(
    mosquitto: MosquittoBroker, discoveries: list[Any], failures: int
) -> web.Application:
    """The Supervisor's broker service, and discovery refusing the first ``failures`` posts."""

    async def mqtt_service(_request: web.Request) -> web.Response:
        data = {"host": mosquitto.host, "port": mosquitto.port, "username": "", "password": ""}
        return web.json_response({"result": "ok", "data": data})

    async def discovery(request: web.Request) -> web.Response:
        discoveries.append(await request.json())
        if len(discoveries) <= failures:
            return web.json_response({"result": "error", "message": "core not ready"}, status=500)
        return web.json_response({"result": "ok", "data": {"uuid": "abc"}})

    supervisor = web.Application()
    supervisor.router.add_get("/services/mqtt", mqtt_service)
    supervisor.router.add_post("/discovery", discovery)
    return supervisor


async def test_a_failed_announcement_is_retried_while_the_ledger_keeps_serving(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    discoveries: list[Any] = []
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    async with TestServer(_fake_supervisor(mosquitto, discoveries, 1), host="127.0.0.1") as fake:
        env = {
            "SUPERVISOR_TOKEN": SUPERVISOR_TOKEN,
            "TENANT_LEDGER_SUPERVISOR_URL": str(fake.make_url("")).rstrip("/"),
        }
        ledger = LedgerProcess(data_dir, env=env)
        await asyncio.to_thread(ledger.start)
        try:
            for _ in range(100):
                if len(discoveries) >= 2:
                    break
                await asyncio.sleep(0.1)
            assert ledger.running
            health = await asyncio.to_thread(ledger.call, "GET", "/api/health")
        finally:
            assert await asyncio.to_thread(ledger.stop) == 0
    assert len(discoveries) == 2
    assert discoveries[0] == discoveries[1]
    assert health["status"] == "ok"


async def test_a_read_only_ledger_keeps_serving_under_the_supervisor(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    """No token provisioning (a write) and no announcement: no crash loop either."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    config = LedgerConfig(
        data_dir=data_dir, database_url=default_url(data_dir), broker=None, timezone="Europe/Berlin"
    )
    first = LedgerService(config)
    await first.start()
    await first.stop()
    database = sqlite3.connect(data_dir / DATABASE_FILE)
    database.executemany(  # balanced legs, which the database wants first
        "INSERT INTO journal_legs (entry_id, position, account, amount_minor) VALUES (1, ?, ?, ?)",
        [(0, "tenant:t1", 100), (1, "funds:cash", -100)],
    )
    database.execute(  # an entry that does not match its hash
        "INSERT INTO journal (id, ts_us, kind, currency, actor, reason, prev_hash, hash) "
        "VALUES (1, 0, 'top_up', 'EUR', 'x', 'x', ?, ?)",
        ("0" * 64, "f" * 64),
    )
    database.commit()
    database.close()

    discoveries: list[Any] = []
    async with TestServer(_fake_supervisor(mosquitto, discoveries, 0), host="127.0.0.1") as fake:
        env = {
            "SUPERVISOR_TOKEN": SUPERVISOR_TOKEN,
            "TENANT_LEDGER_SUPERVISOR_URL": str(fake.make_url("")).rstrip("/"),
        }
        ledger = LedgerProcess(data_dir, env=env)
        await asyncio.to_thread(ledger.start)
        try:
            await asyncio.sleep(1)
            assert ledger.running
            health = await asyncio.to_thread(ledger.call, "GET", "/api/health")
        finally:
            assert await asyncio.to_thread(ledger.stop) == 0
    assert health["read_only"] is True
    assert discoveries == []
