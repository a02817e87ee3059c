"""Diagnostics: breakers, gateways and tenants, with the token and addresses redacted."""

from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from tenant_sim.modbus_server import SimulatedModbusServer

from .common import BASE, FULL_CHANNEL, announce, fire, setup_hub, state
from .fake_ledger import FakeLedger, tenant_state
from .modbus_common import fast_bus, meter_subentry, setup_gateway, simulated, values
from .test_ledger_link import setup_ledger

VOLATILE = props("entry_id", "created_at", "modified_at", "url", "configuration_url")


async def test_hub_diagnostics(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1763800000, 7, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics == snapshot(exclude=VOLATILE)


async def test_ledger_diagnostics_redact_the_token(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await setup_ledger(hass, fake_ledger)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"]["token"] == "**REDACTED**"
    assert "secret-token" not in str(diagnostics)
    assert diagnostics == snapshot(exclude=VOLATILE)


async def test_gateway_diagnostics_list_meters_and_redact_the_address(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    modbus_server: SimulatedModbusServer,
    hass_client: ClientSessionGenerator,
) -> None:
    simulated(modbus_server, "peacefair_pzem016", 1).set_channel("1", values(0))
    with fast_bus():
        entry = await setup_gateway(
            hass, modbus_server, [meter_subentry(1, "peacefair_pzem016", "Room 101 meter")]
        )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"]["host"] == "**REDACTED**"
    gateway = diagnostics["gateway"]
    assert gateway["bus"]["connected"] is True
    meter = gateway["meters"]["Room 101 meter"]
    assert (meter["profile"], meter["slave_id"], meter["blocks"]) == ("peacefair_pzem016", 1, 1)
    assert meter["last_reading"]["channels"]["1"]["energy_wh"] == 1_234_560
    assert diagnostics["entry"]["subentries"][0]["title"] == "Room 101 meter"


async def test_ledger_diagnostics_show_each_resource_as_exact_text(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    hass_client: ClientSessionGenerator,
) -> None:
    water = {
        "unit": "m³", "billed": True, "period_usage": "1.234", "period_cost": "3.09",
        "quota": "1.000", "quota_remaining": "0.000", "quota_exhausted": True,
    }  # fmt: skip
    fake_ledger.tenants["t101"] = tenant_state(resources={"water": water})
    entry = await setup_ledger(hass, fake_ledger)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["ledger"]["tenants"]["t101"]["resources"] == {
        "water": {
            "billed": True, "period_usage": "1.234", "period_cost": "3.09",
            "quota": "1.000", "quota_remaining": "0.000", "quota_exhausted": True,
        }
    }  # fmt: skip
