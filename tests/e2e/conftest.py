"""End-to-end fixtures: the real ledger service as a subprocess, HA's MQTT on a real broker."""

from collections.abc import AsyncIterator, Iterator
import os
from pathlib import Path
import subprocess
import sys
from typing import Any
from unittest.mock import AsyncMock, patch

import aiohttp
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tenant_sim.mosquitto import MosquittoBroker
from tenant_sim.net import LOOPBACK, free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
LEDGER_TOKEN = "e2e-admin-token"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/tenant_metering."""


class LedgerService:
    """``python -m tenant_ledger serve`` against the test broker, plus an API helper."""

    def __init__(self, data_dir: Path, broker: MosquittoBroker) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = data_dir.parent / "ledger.log"
        argv = [
            sys.executable, "-m", "tenant_ledger", "serve",
            "--data-dir", str(data_dir), "--port", str(self.port),
            "--mqtt-url", broker.url, "--admin-token", LEDGER_TOKEN, "--timezone", "UTC",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon")}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        try:
            wait_for_port(self.port, timeout=30)
        except TimeoutError:
            raise RuntimeError(self.log()) from None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method,
                self.url + path,
                json=body,
                headers={"Authorization": f"Bearer {LEDGER_TOKEN}"},
            ) as reply,
        ):
            data = await reply.json()
            assert reply.status == expect, (method, path, reply.status, data)
            return data


@pytest.fixture
def ledger_service(tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[LedgerService]:
    service = LedgerService(tmp_path / "ledger", mosquitto)
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


@pytest.fixture
async def mqtt_on_broker(hass: HomeAssistant, mosquitto: MosquittoBroker) -> AsyncIterator[None]:
    """HA's MQTT integration connected to the real broker."""
    # No birth message: after a reconnect HA publishes it seconds later, possibly after the
    # test has unloaded MQTT, which would fail that background task.
    entry = MockConfigEntry(
        domain="mqtt",
        data={"broker": mosquitto.host, "port": mosquitto.port},
        options={"birth_message": {}},
    )
    entry.add_to_hass(hass)
    # The test config dir has no configuration.yaml; MQTT reads it for YAML entities.
    with patch("homeassistant.config.async_hass_config_yaml", AsyncMock(return_value={})):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        yield
    # Close the connection before HA stops, so its timers end with the socket.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
