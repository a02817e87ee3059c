"""One building end to end: simulated breakers → Mosquitto → HA → ledger service → HA.

Real broker, real ledger subprocess, HA's real MQTT client; only the breakers are simulated.
"""

import asyncio
from dataclasses import replace
from decimal import Decimal
import time

from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest

from custom_components.tenant_metering.const import DOMAIN
from tenant_sim.breakers import BreakerFleet
from tenant_sim.mosquitto import MosquittoBroker
from tests.integration.common import find_device

from .harness import Ledger, state, until

pytestmark = pytest.mark.slow


async def test_building_end_to_end(
    hass: HomeAssistant,
    mosquitto: MosquittoBroker,
    ledger: Ledger,
    metering: None,
) -> None:
    fleet = BreakerFleet.build(mosquitto.host, mosquitto.port, breakers=1, channels=2)
    breaker = fleet.breakers[0]
    await ledger.building({"t101": f"mqtt:{breaker.device_id}:1"})

    try:
        # Discovery → devices and entities.
        started = time.monotonic()
        await hass.async_add_executor_job(fleet.connect)
        await until(lambda: hass.states.get("switch.room_101_relay") is not None, "discovery")
        discovery_latency = time.monotonic() - started
        device = find_device(hass, breaker.device_id)
        assert device is not None
        assert device.model == "SIM-BR"

        # State → energy sensor (exact kWh of the integer register).
        now = ledger.now()
        # HA subscribes to the breaker's topics a moment after discovery, and state
        # messages are not retained: keep sending, as a real breaker does every interval.
        deadline = time.monotonic() + 15
        while state(hass, "sensor.room_101_energy") is None:
            assert time.monotonic() < deadline, "no state reached HA"
            first = breaker.step(now - 600)
            await asyncio.sleep(0.2)
        register = first["channels"]["1"]["energy_wh"]
        assert Decimal(state(hass, "sensor.room_101_energy") or "NaN") == Decimal(register) / 1000
        second = breaker.step(now)
        used_wh = second["channels"]["1"]["energy_wh"] - register
        await until(
            lambda: (
                Decimal(state(hass, "sensor.room_101_energy") or "NaN")
                == Decimal(second["channels"]["1"]["energy_wh"]) / 1000
            ),
            "second state",
        )

        # The readings reach the ledger, which rates them and publishes the tenant's state.
        async def period_energy() -> str:
            tenant = await ledger.call("GET", "/api/tenants/t101")
            return str(tenant["period_energy_kwh"])

        deadline = time.monotonic() + 15
        while (energy := await period_energy()) in ("0", "0.000") and used_wh > 0:
            assert time.monotonic() < deadline, ledger.log()[-3000:]
            await asyncio.sleep(0.1)
        assert energy == f"{used_wh / 1000:.3f}"
        await until(
            lambda: state(hass, "sensor.tenant_101_period_energy") == energy,
            "tenant period energy in HA",
        )

        # Top-up through the HA service → the tenant's balance entity follows.
        balance_before = state(hass, "sensor.tenant_101_balance")
        assert balance_before is not None
        tenant_device = find_device(hass, "tenant_t101")
        assert tenant_device is not None
        await hass.services.async_call(
            DOMAIN,
            "top_up",
            {"device_id": tenant_device.id, "amount": "10.00", "reason": "e2e cash"},
            blocking=True,
        )
        expected = Decimal(balance_before) + Decimal("10.00")
        await until(
            lambda: Decimal(state(hass, "sensor.tenant_101_balance") or "NaN") == expected,
            "balance update",
            limit_s=5,
        )

        # The tenant's supply switch fans out to the breaker's relay, which acks.
        await until(lambda: state(hass, "switch.tenant_101_supply") == "on", "supply on")
        await hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.tenant_101_supply"}, blocking=True
        )
        assert state(hass, "switch.room_101_relay") == "off"
        assert not breaker.channels[0].relay_on

        # Backhaul outage: LWT makes entities unavailable; the backlog follows on return.
        await hass.async_add_executor_job(breaker.outage)
        await until(
            lambda: state(hass, "sensor.room_101_energy") == STATE_UNAVAILABLE, "LWT offline"
        )
        breaker.step(now + 300)
        await hass.async_add_executor_job(breaker.restore)
        await until(
            lambda: state(hass, "sensor.room_101_energy") != STATE_UNAVAILABLE, "back online"
        )

        # The broker restarts: HA and the breaker reconnect, HA resubscribes, states flow.
        await hass.async_add_executor_job(mosquitto.restart)
        before = state(hass, "sensor.room_102_power")
        deadline = time.monotonic() + 30
        while state(hass, "sensor.room_102_power") in (before, STATE_UNAVAILABLE):
            assert time.monotonic() < deadline, "no state after the broker restarted"
            breaker.channels[1].profile = replace(
                breaker.channels[1].profile, peak_w=breaker.channels[1].profile.peak_w + 100
            )
            breaker.step(now + 300 + int(time.monotonic() - deadline + 30))
            await asyncio.sleep(0.5)
        print(f"discovery → entities: {discovery_latency * 1000:.0f} ms")
    finally:
        await hass.async_add_executor_job(fleet.close)
