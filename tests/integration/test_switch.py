"""Relay switches: commands carry an id, the switch shows what the breaker confirms."""

import asyncio
from unittest.mock import MagicMock, patch
import uuid

from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.tenant_metering.const import EVENT_COMMAND_FAILED

from .common import (
    BASE,
    FULL_CHANNEL,
    announce,
    fire,
    published,
    setup_hub,
    state,
    state_of,
)

RELAY = "switch.room_201_relay"


async def _ready(hass: HomeAssistant) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    assert state_of(hass, RELAY) == "on"


def _switch(hass: HomeAssistant, service: str) -> asyncio.Task[object]:
    return hass.async_create_task(
        hass.services.async_call("switch", service, {ATTR_ENTITY_ID: RELAY}, blocking=True)
    )


async def test_command_then_ack_switches(hass: HomeAssistant, mqtt_mock: MagicMock) -> None:
    await _ready(hass)
    call = _switch(hass, SERVICE_TURN_OFF)
    (command,) = await published(mqtt_mock, f"{BASE}/command")
    assert command["channel"] == "1"
    assert command["relay"] == "off"
    assert uuid.UUID(command["id"]).version == 4
    # Nothing changes before the breaker confirms.
    assert state_of(hass, RELAY) == "on"

    fire(hass, f"{BASE}/ack", {"id": "someone-else", "ok": True, "relay": "on"})
    fire(hass, f"{BASE}/ack", {"id": command["id"], "ok": True, "relay": "off"})
    await call
    assert state_of(hass, RELAY) == "off"

    call = _switch(hass, SERVICE_TURN_ON)
    commands = await published(mqtt_mock, f"{BASE}/command", count=2)
    fire(hass, f"{BASE}/ack", {"id": commands[1]["id"], "ok": True, "relay": "on"})
    await call
    assert state_of(hass, RELAY) == "on"


async def test_missing_ack_raises_and_keeps_the_truth(
    hass: HomeAssistant, mqtt_mock: MagicMock
) -> None:
    await _ready(hass)
    failures = async_capture_events(hass, EVENT_COMMAND_FAILED)
    with (
        patch("custom_components.tenant_metering.sources.mqtt.commands.ACK_TIMEOUT", 0.05),
        pytest.raises(HomeAssistantError) as raised,
    ):
        await hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: RELAY}, blocking=True
        )
    assert raised.value.translation_key == "command_timeout"
    assert str(raised.value) == (
        "Floor 2 DB did not confirm switching Room 201 off within 0.05 s; "
        "the switch shows the last confirmed state"
    )
    assert state_of(hass, RELAY) == "on"
    # The breaker_alert blueprint hears about it.
    assert [event.data for event in failures] == [
        {
            "entity_id": RELAY,
            "device_id": "a4cf12ab34cd",
            "channel": "1",
            "relay": "off",
            "error": str(raised.value),
        }
    ]

    # The device's next state is what counts.
    fire(hass, f"{BASE}/state", state(2, 2, {"1": {**FULL_CHANNEL, "relay": "off"}}))
    await hass.async_block_till_done()
    assert state_of(hass, RELAY) == "off"


async def test_refused_command_raises(hass: HomeAssistant, mqtt_mock: MagicMock) -> None:
    await _ready(hass)
    call = _switch(hass, SERVICE_TURN_OFF)
    (command,) = await published(mqtt_mock, f"{BASE}/command")
    fire(hass, f"{BASE}/ack", {"id": command["id"], "ok": False, "error": "interlock"})
    with pytest.raises(HomeAssistantError) as raised:
        await call
    assert raised.value.translation_key == "command_rejected"
    assert "interlock" in str(raised.value)
    assert state_of(hass, RELAY) == "on"
