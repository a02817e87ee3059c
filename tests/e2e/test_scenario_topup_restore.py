"""Top-up while disconnected: HA service → ledger → retained state → blueprint → breaker relay.

Real broker, real ledger subprocess, HA's MQTT client on the broker, the arrears cut-off
blueprint loaded through HA's blueprint machinery; only the breaker is simulated.
"""

import asyncio
from decimal import Decimal
import time

from homeassistant.core import HomeAssistant
import pytest

from tenant_sim.mosquitto import MosquittoBroker

from .harness import (
    Blueprints,
    Ledger,
    first_state,
    quiet_fleet,
    send,
    state,
    tenant_device,
    until,
)

pytestmark = pytest.mark.slow


async def _top_up(hass: HomeAssistant, amount: str) -> None:
    await hass.services.async_call(
        "tenant_metering",
        "top_up",
        {"device_id": tenant_device(hass, "t101"), "amount": amount, "reason": "cash"},
        blocking=True,
    )


async def test_top_up_restores_an_arrears_cut_off_at_the_reconnect_minimum_only(
    hass: HomeAssistant,
    mosquitto: MosquittoBroker,
    ledger: Ledger,
    metering: None,
    blueprints: Blueprints,
) -> None:
    fleet = quiet_fleet(mosquitto, channels=1)
    breaker = fleet.breakers[0]
    point = f"mqtt:{breaker.device_id}:1"
    # No grace and no quiet hours: arrears are due for cut-off at once; 5.00 to reconnect.
    await ledger.building({"t101": point}, grace_days=0, reconnect_minimum="5.00")
    await blueprints.arrears_cutoff({"101": {}})
    try:
        await hass.async_add_executor_job(fleet.connect)
        await until(lambda: state(hass, "switch.room_101_relay") is not None, "discovery")
        await until(lambda: state(hass, "sensor.tenant_101_status") == "low", "ledger state")

        # 10 kWh at 0.30 EUR with nothing paid: -3.00 EUR, arrears, no grace → cut off.
        now = ledger.now()
        await first_state(hass, breaker, now - 3600, {"1": 1_000_000})
        assert state(hass, "switch.tenant_101_supply") == "on"
        send(breaker, now - 60, {"1": 1_010_000})
        await until(lambda: state(hass, "sensor.tenant_101_balance") == "-3.00", "the bill")
        await until(
            lambda: not breaker.channels[0].relay_on, "the cut-off reaching the breaker", 10
        )
        await until(lambda: state(hass, "switch.tenant_101_supply") == "off", "supply off")
        await until(lambda: state(hass, "sensor.tenant_101_status") == "disconnected", "recorded")
        assert state(hass, "switch.room_101_relay") == "off"
        await until(lambda: len(blueprints.landlord) >= 1, "the cut-off message")
        assert [call.data["title"] for call in blueprints.landlord] == [
            "Supply cut off: Tenant 101"
        ]

        # Too little: 4.00 leaves 1.00, below the reconnect minimum of 5.00: stays off.
        await _top_up(hass, "4.00")
        await until(lambda: state(hass, "sensor.tenant_101_balance") == "1.00", "the top-up")
        await asyncio.sleep(1.0)
        assert not breaker.channels[0].relay_on
        assert state(hass, "sensor.tenant_101_status") == "disconnected"
        assert "5.00 EUR needed to reconnect" in str(hass.states.get("sensor.tenant_101_status"))

        # Enough: HA action → ledger → retained state (restore) → blueprint → executor → relay.
        started = time.monotonic()
        await _top_up(hass, "6.00")
        await until(lambda: breaker.channels[0].relay_on, "the restore reaching the breaker")
        await until(lambda: state(hass, "switch.tenant_101_supply") == "on", "supply on")
        restore_s = time.monotonic() - started
        assert state(hass, "switch.room_101_relay") == "on"
        assert await ledger.balance("t101") == Decimal("7.00")
        journal = await ledger.call("GET", "/api/tenants/t101/journal")
        assert sorted(entry["amount"] for entry in journal["entries"]) == ["-3.00", "4.00", "6.00"]
        await until(lambda: len(blueprints.landlord) == 2, "the restore message")
        assert blueprints.landlord[1].data["title"] == "Supply restored: Tenant 101"
        await until(lambda: state(hass, "sensor.tenant_101_status") == "ok", "status ok")
        assert restore_s < 10, restore_s
    finally:
        await hass.async_add_executor_job(fleet.close)


async def test_a_landlords_cut_stays_off_after_a_top_up(
    hass: HomeAssistant,
    mosquitto: MosquittoBroker,
    ledger: Ledger,
    metering: None,
    blueprints: Blueprints,
) -> None:
    fleet = quiet_fleet(mosquitto, channels=1)
    breaker = fleet.breakers[0]
    await ledger.building({"t101": f"mqtt:{breaker.device_id}:1"}, grace_days=0)
    await blueprints.arrears_cutoff({"101": {}})
    try:
        await hass.async_add_executor_job(fleet.connect)
        await until(lambda: state(hass, "switch.room_101_relay") is not None, "discovery")
        await first_state(hass, breaker, ledger.now() - 3600, {"1": 1_000_000})
        await until(lambda: state(hass, "switch.tenant_101_supply") == "on", "supply on")
        # The landlord cuts by hand (a safety check in the room).
        await hass.services.async_call(
            "switch", "turn_off", {"entity_id": "switch.tenant_101_supply"}, blocking=True
        )
        await until(lambda: not breaker.channels[0].relay_on, "the manual cut")
        await until(lambda: state(hass, "sensor.tenant_101_status") == "disconnected", "recorded")
        record = await ledger.call("GET", "/api/tenants/t101")
        assert (record["supply"]["state"], record["supply"]["cause"]) == ("off", "landlord")

        await _top_up(hass, "50.00")
        await until(lambda: state(hass, "sensor.tenant_101_balance") == "50.00", "the top-up")
        await asyncio.sleep(1.0)
        assert not breaker.channels[0].relay_on
        assert state(hass, "sensor.tenant_101_status") == "disconnected"
        assert blueprints.landlord == []
    finally:
        await hass.async_add_executor_job(fleet.close)
