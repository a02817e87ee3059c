"""Payloads and set-up helpers shared by the integration tests."""

import asyncio
from collections.abc import Mapping
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from custom_components.tenant_metering.compat import async_get_entry_device
from custom_components.tenant_metering.const import (
    CONF_KIND,
    CONF_PREFIX,
    CONF_TOKEN,
    CONF_URL,
    DOMAIN,
    KIND_LEDGER,
    KIND_MQTT_HUB,
)
from custom_components.tenant_metering.identifiers import LEDGER_UNIQUE_ID

PREFIX = "tenant_metering"
DEVICE_ID = "a4cf12ab34cd"
BASE = f"{PREFIX}/{DEVICE_ID}"
DISCOVERY_TOPIC = f"{PREFIX}/discovery/{DEVICE_ID}/config"


def find_device(hass: HomeAssistant, identifier: str) -> DeviceEntry | None:
    """Our device ``(DOMAIN, identifier)``, in whichever of our config entries has it.

    Through the integration's own lookup: HA 2026 refuses the registry's identifier-only
    ``async_get_device`` (identifiers are unique per config entry only).
    """
    found = {
        device.id: device
        for entry in hass.config_entries.async_entries(DOMAIN)
        if (device := async_get_entry_device(hass, entry.entry_id, (DOMAIN, identifier)))
    }
    assert len(found) <= 1, f"{identifier} is in several entries: {found}"
    return next(iter(found.values()), None)


def announcement(channels: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    """A breaker's discovery payload (two channels, both with relays, unless told)."""
    return {
        "schema": 1,
        "device_id": DEVICE_ID,
        "name": "Floor 2 DB",
        "manufacturer": "Acme Breakers",
        "model": "SE-BR2T",
        "sw_version": "1.4.2",
        "base_topic": BASE,
        "channels": channels
        if channels is not None
        else [
            {"id": "1", "name": "Room 201", "relay": True, "rated_current_a": 32},
            {"id": "2", "name": "Room 202", "relay": True, "rated_current_a": 16},
        ],
        **overrides,
    }


FULL_CHANNEL = {
    "voltage": 229.8,
    "current": 3.21,
    "power": 712.4,
    "power_factor": 0.97,
    "frequency": 50.01,
    "energy_wh": 1234567,
    "relay": "on",
}


def state(ts: int, seq: int, channels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"ts": ts, "seq": seq, "channels": channels}


def fire(hass: HomeAssistant, topic: str, payload: Any, *, retain: bool = False) -> None:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    async_fire_mqtt_message(hass, topic, body, retain=retain)


def hub_entry(prefix: str = PREFIX) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="MQTT breakers",
        unique_id=f"mqtt_{prefix}",
        data={CONF_KIND: KIND_MQTT_HUB, CONF_PREFIX: prefix},
        entry_id="hub_entry_id",
    )


def ledger_entry(url: str, token: str = "secret-token") -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Tenant Metering Ledger",
        unique_id=LEDGER_UNIQUE_ID,
        data={CONF_KIND: KIND_LEDGER, CONF_URL: url, CONF_TOKEN: token, CONF_PREFIX: PREFIX},
        entry_id="ledger_entry_id",
    )


async def setup_hub(hass: HomeAssistant, prefix: str = PREFIX) -> MockConfigEntry:
    entry = hub_entry(prefix)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def announce(hass: HomeAssistant, payload: dict[str, Any] | str | None = None) -> None:
    """Fire an announcement (live, as a broker forwards a re-published retained one).

    Then let the hub subscribe to the breaker's topics.
    """
    fire(hass, DISCOVERY_TOPIC, announcement() if payload is None else payload)
    await hass.async_block_till_done()


async def published(mqtt_mock: Any, topic: str, count: int = 1) -> list[Any]:
    """Payloads published on ``topic``, waiting (briefly) until there are ``count``."""
    for _ in range(200):
        payloads = [
            json.loads(call.args[1])
            for call in mqtt_mock.async_publish.call_args_list
            if call.args[0] == topic
        ]
        if len(payloads) >= count:
            return payloads
        await asyncio.sleep(0.005)
    raise AssertionError(f"nothing published on {topic}: {mqtt_mock.async_publish.call_args_list}")


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """The state of an entity that must exist."""
    current = hass.states.get(entity_id)
    assert current is not None, f"{entity_id} does not exist"
    return current.state


def attributes_of(hass: HomeAssistant, entity_id: str) -> Mapping[str, Any]:
    """The attributes of an entity that must exist."""
    current = hass.states.get(entity_id)
    assert current is not None, f"{entity_id} does not exist"
    return current.attributes
