"""One building end to end: simulated breakers → Mosquitto → HA → ledger service → HA.

Real broker, real ledger subprocess, HA's real MQTT client; only the breakers are simulated.
"""

import asyncio
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
import time

from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tenant_metering.const import (
    CONF_KIND,
    CONF_PREFIX,
    CONF_TOKEN,
    CONF_URL,
    DOMAIN,
    KIND_LEDGER,
    KIND_MQTT_HUB,
)
from tenant_sim.breakers import BreakerFleet
from tenant_sim.mosquitto import MosquittoBroker

from .conftest import LEDGER_TOKEN, LedgerService

pytestmark = pytest.mark.slow

FLAT_TARIFF = {"currency": "EUR", "timezone": "UTC", "energy": {"type": "flat", "rate": "0.30"}}


async def _until(check: Callable[[], object], what: str, limit_s: float = 15.0) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _state(hass: HomeAssistant, entity_id: str) -> str | None:
    current = hass.states.get(entity_id)
    return None if current is None else current.state


async def _building(ledger: LedgerService, point: str) -> None:
    await ledger.call(
        "POST",
        "/api/tariffs/std/versions",
        {"tariff": FLAT_TARIFF, "effective_from": "2020-01-01T00:00:00+00:00", "reason": "e2e"},
        expect=201,
    )
    await ledger.call(
        "POST",
        "/api/plans",
        {"id": "main", "name": "Main", "kind": "prepaid", "tariff": "std"},
        expect=201,
    )
    await ledger.call(
        "POST", "/api/tenants", {"id": "t101", "name": "Tenant 101", "plan": "main"}, expect=201
    )
    await ledger.call("POST", "/api/points", {"id": point, "name": "Room 101"}, expect=201)
    await ledger.call(
        "POST",
        "/api/tenants/t101/move-in",
        {"points": [point], "at": "2020-01-01T00:00:00+00:00"},
        expect=201,
    )


async def test_building_end_to_end(
    hass: HomeAssistant,
    mosquitto: MosquittoBroker,
    ledger_service: LedgerService,
    mqtt_on_broker: None,
) -> None:
    fleet = BreakerFleet.build(mosquitto.host, mosquitto.port, breakers=1, channels=2)
    breaker = fleet.breakers[0]
    point = f"mqtt:{breaker.device_id}:1"
    await _building(ledger_service, point)

    hub = MockConfigEntry(
        domain=DOMAIN,
        unique_id=f"mqtt_{DOMAIN}",
        data={CONF_KIND: KIND_MQTT_HUB, CONF_PREFIX: "tenant_metering"},
    )
    ledger = MockConfigEntry(
        domain=DOMAIN,
        unique_id="ledger",
        data={
            CONF_KIND: KIND_LEDGER,
            CONF_URL: ledger_service.url,
            CONF_TOKEN: LEDGER_TOKEN,
            CONF_PREFIX: "tenant_metering",
        },
    )
    for entry in (hub, ledger):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    try:
        # Discovery → devices and entities.
        started = time.monotonic()
        await hass.async_add_executor_job(fleet.connect)
        await _until(lambda: hass.states.get("switch.room_101_relay") is not None, "discovery")
        discovery_latency = time.monotonic() - started
        device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, breaker.device_id)})
        assert device is not None
        assert device.model == "SIM-BR"

        # State → energy sensor (exact kWh of the integer register).
        now = int(time.time())
        # HA subscribes to the breaker's topics a moment after discovery, and state
        # messages are not retained: keep sending, as a real breaker does every interval.
        deadline = time.monotonic() + 15
        while _state(hass, "sensor.room_101_energy") is None:
            assert time.monotonic() < deadline, "no state reached HA"
            first = breaker.step(now - 600)
            await asyncio.sleep(0.2)
        register = first["channels"]["1"]["energy_wh"]
        assert Decimal(_state(hass, "sensor.room_101_energy") or "NaN") == Decimal(register) / 1000
        second = breaker.step(now)
        used_wh = second["channels"]["1"]["energy_wh"] - register
        await _until(
            lambda: (
                Decimal(_state(hass, "sensor.room_101_energy") or "NaN")
                == Decimal(second["channels"]["1"]["energy_wh"]) / 1000
            ),
            "second state",
        )

        # The readings reach the ledger, which rates them and publishes the tenant's state.
        async def period_energy() -> str:
            tenant = await ledger_service.call("GET", "/api/tenants/t101")
            return str(tenant["period_energy_kwh"])

        deadline = time.monotonic() + 15
        while (energy := await period_energy()) in ("0", "0.000") and used_wh > 0:
            assert time.monotonic() < deadline, ledger_service.log()[-3000:]
            await asyncio.sleep(0.1)
        assert energy == f"{used_wh / 1000:.3f}"
        await _until(
            lambda: _state(hass, "sensor.tenant_101_period_energy") == energy,
            "tenant period energy in HA",
        )

        # Top-up through the HA service → the tenant's balance entity follows.
        balance_before = _state(hass, "sensor.tenant_101_balance")
        assert balance_before is not None
        tenant_device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, "tenant_t101")})
        assert tenant_device is not None
        await hass.services.async_call(
            DOMAIN,
            "top_up",
            {"device_id": tenant_device.id, "amount": "10.00", "reason": "e2e cash"},
            blocking=True,
        )
        expected = Decimal(balance_before) + Decimal("10.00")
        await _until(
            lambda: Decimal(_state(hass, "sensor.tenant_101_balance") or "NaN") == expected,
            "balance update",
            limit_s=5,
        )

        # The tenant's supply switch fans out to the breaker's relay, which acks.
        await _until(lambda: _state(hass, "switch.tenant_101_supply") == "on", "supply on")
        await hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.tenant_101_supply"}, blocking=True
        )
        assert _state(hass, "switch.room_101_relay") == "off"
        assert not breaker.channels[0].relay_on

        # Backhaul outage: LWT makes entities unavailable; the backlog follows on return.
        await hass.async_add_executor_job(breaker.outage)
        await _until(
            lambda: _state(hass, "sensor.room_101_energy") == STATE_UNAVAILABLE, "LWT offline"
        )
        breaker.step(now + 300)
        await hass.async_add_executor_job(breaker.restore)
        await _until(
            lambda: _state(hass, "sensor.room_101_energy") != STATE_UNAVAILABLE, "back online"
        )

        # The broker restarts: HA and the breaker reconnect, HA resubscribes, states flow.
        await hass.async_add_executor_job(mosquitto.restart)
        before = _state(hass, "sensor.room_102_power")
        deadline = time.monotonic() + 30
        while _state(hass, "sensor.room_102_power") in (before, STATE_UNAVAILABLE):
            assert time.monotonic() < deadline, "no state after the broker restarted"
            breaker.channels[1].profile = replace(
                breaker.channels[1].profile, peak_w=breaker.channels[1].profile.peak_w + 100
            )
            breaker.step(now + 300 + int(time.monotonic() - deadline + 30))
            await asyncio.sleep(0.5)
        print(f"discovery → entities: {discovery_latency * 1000:.0f} ms")
    finally:
        await hass.async_add_executor_job(fleet.close)
