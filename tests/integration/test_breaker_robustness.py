"""MQTT breakers misbehaving or changing under a command: removal, moved topics, relay flags,
wrong clocks, reboots."""

import asyncio
import logging
import time
from unittest.mock import MagicMock

from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.tenant_metering.const import DOMAIN, EVENT_COMMAND_FAILED

from .common import (
    BASE,
    DEVICE_ID,
    FULL_CHANNEL,
    announce,
    announcement,
    fire,
    published,
    setup_hub,
    state,
    state_of,
)

RELAY = "switch.room_201_relay"
POWER = "sensor.room_201_power"


async def _ready(hass: HomeAssistant) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "change",
    ["", announcement(base_topic="tenant_metering/moved")],
    ids=["breaker removed", "base topic moved"],
)
async def test_command_in_flight_fails_clearly_when_the_breaker_goes(
    hass: HomeAssistant, mqtt_mock: MagicMock, change: object
) -> None:
    await _ready(hass)
    failures = async_capture_events(hass, EVENT_COMMAND_FAILED)
    call = hass.async_create_task(
        hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: RELAY}, blocking=True)
    )
    await published(mqtt_mock, f"{BASE}/command")
    await announce(hass, change)  # type: ignore[arg-type]
    with pytest.raises(HomeAssistantError) as raised:
        await call
    assert not isinstance(raised.value, asyncio.CancelledError)
    assert raised.value.translation_key == "device_removed"
    assert [event.data["error"] for event in failures] == [str(raised.value)]


async def test_relay_flag_removed_removes_the_switch(
    hass: HomeAssistant, mqtt_mock: MagicMock, entity_registry: er.EntityRegistry
) -> None:
    await _ready(hass)
    assert state_of(hass, RELAY) == "on"
    await announce(
        hass,
        announcement(
            channels=[
                {"id": "1", "name": "Room 201"},
                {"id": "2", "name": "Room 202", "relay": True},
            ]
        ),
    )
    assert hass.states.get(RELAY) is None
    assert entity_registry.async_get_entity_id("switch", DOMAIN, f"{DEVICE_ID}_1_relay") is None
    assert state_of(hass, POWER) == "712.4"  # the channel itself stays

    await announce(hass)  # the relay is back
    assert entity_registry.async_get_entity_id("switch", DOMAIN, f"{DEVICE_ID}_1_relay") is not None


async def test_a_future_timestamp_does_not_freeze_the_display(
    hass: HomeAssistant, mqtt_mock: MagicMock, caplog: pytest.LogCaptureFixture
) -> None:
    await _ready(hass)
    now = int(time.time())
    caplog.set_level(logging.WARNING)
    for seq in (2, 3):  # a clock a year ahead, twice
        fire(
            hass,
            f"{BASE}/state",
            state(now + 365 * 86400, seq, {"1": {**FULL_CHANNEL, "power": 1}}),
        )
        await hass.async_block_till_done()
    assert state_of(hass, POWER) == "712.4"
    assert caplog.text.count("is in the future") == 1

    fire(hass, f"{BASE}/state", state(now, 4, {"1": {**FULL_CHANNEL, "power": 5.0}}))
    await hass.async_block_till_done()
    assert state_of(hass, POWER) == "5.0"


async def test_seq_orders_messages_and_a_reboot_starts_afresh(
    hass: HomeAssistant, mqtt_mock: MagicMock
) -> None:
    await _ready(hass)
    fire(hass, f"{BASE}/state", state(1000, 10, {"1": {**FULL_CHANNEL, "power": 10.0}}))
    await hass.async_block_till_done()
    # The device's clock stepped back (NTP), its seq did not: still the newest.
    fire(hass, f"{BASE}/state", state(900, 11, {"1": {**FULL_CHANNEL, "power": 11.0}}))
    await hass.async_block_till_done()
    assert state_of(hass, POWER) == "11.0"
    # A late delivery of an older seq is not shown.
    fire(hass, f"{BASE}/state", state(950, 9, {"1": {**FULL_CHANNEL, "power": 9.0}}))
    await hass.async_block_till_done()
    assert state_of(hass, POWER) == "11.0"

    # Reboot: offline, online, seq starts again at 1.
    fire(hass, f"{BASE}/availability", "offline")
    fire(hass, f"{BASE}/availability", "online")
    fire(hass, f"{BASE}/state", state(1100, 1, {"1": {**FULL_CHANNEL, "power": 1.0}}))
    await hass.async_block_till_done()
    assert state_of(hass, POWER) == "1.0"
