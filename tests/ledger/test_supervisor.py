"""Inside the Supervisor: options, broker and discovery, against a fake Supervisor API.

The Supervisor is the one thing simulated; the broker is a real Mosquitto and the ledger a real
subprocess started the way the add-on's s6 service starts it.
"""

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

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
