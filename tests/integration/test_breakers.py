"""MQTT breakers: discovery → devices and entities, lazy fields, availability, removal."""

from collections import Counter
import logging
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.const import (
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.tenant_metering.const import DOMAIN

from .common import (
    BASE,
    DEVICE_ID,
    FULL_CHANNEL,
    announce,
    announcement,
    find_device,
    fire,
    setup_hub,
    state,
    state_of,
)


@pytest.mark.parametrize("platform", [Platform.SENSOR, Platform.SWITCH])
async def test_full_breaker_entity_set(
    hass: HomeAssistant,
    platform: Platform,
    mqtt_mock: object,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    with patch("custom_components.tenant_metering.sources.mqtt.hub.MqttHub.platforms", (platform,)):
        entry = await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/availability", "online", retain=True)
    fire(hass, f"{BASE}/state", state(1763800000, 1, {"1": FULL_CHANNEL, "2": FULL_CHANNEL}))
    await hass.async_block_till_done()

    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)

    breaker = find_device(hass, DEVICE_ID)
    assert breaker is not None
    assert (breaker.manufacturer, breaker.model, breaker.sw_version, breaker.name) == (
        "Acme Breakers",
        "SE-BR2T",
        "1.4.2",
        "Floor 2 DB",
    )
    channel = find_device(hass, f"{DEVICE_ID}_1")
    assert channel is not None
    assert channel.name == "Room 201"
    assert channel.via_device_id == breaker.id


async def test_energy_is_exact_kwh(hass: HomeAssistant, mqtt_mock: object) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": {"energy_wh": 1234567}}))
    await hass.async_block_till_done()
    energy = hass.states.get("sensor.room_201_energy")
    assert energy is not None
    assert energy.state == "1234.567"
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["unit_of_measurement"] == "kWh"
    assert energy.attributes["device_class"] == "energy"


async def test_fields_a_device_does_not_send_create_no_entity(
    hass: HomeAssistant, mqtt_mock: object, entity_registry: er.EntityRegistry
) -> None:
    entry = await setup_hub(hass)
    await announce(hass, announcement(channels=[{"id": "1", "name": "Room 201"}]))
    fire(hass, f"{BASE}/state", state(1, 1, {"1": {"energy_wh": 10}}))
    await hass.async_block_till_done()
    unique_ids = {
        e.unique_id for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    }
    assert unique_ids == {f"{DEVICE_ID}_1_energy"}

    # A field showing up later gets its entity then.
    fire(hass, f"{BASE}/state", state(2, 2, {"1": {"energy_wh": 11, "power": 5.5}}))
    await hass.async_block_till_done()
    unique_ids = {
        e.unique_id for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    }
    assert unique_ids == {f"{DEVICE_ID}_1_energy", f"{DEVICE_ID}_1_power"}
    power = hass.states.get("sensor.room_201_power")
    assert power is not None
    assert power.state == "5.5"


async def test_availability_follows_lwt(hass: HomeAssistant, mqtt_mock: object) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_201_power") == "712.4"

    fire(hass, f"{BASE}/availability", "offline")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_201_power") == STATE_UNAVAILABLE
    assert state_of(hass, "switch.room_201_relay") == STATE_UNAVAILABLE

    fire(hass, f"{BASE}/availability", "online")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_201_power") == "712.4"


async def test_reannouncement_updates_channels_and_empty_config_removes_device(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    entry = await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL, "2": FULL_CHANNEL}))
    await hass.async_block_till_done()
    assert hass.states.get("sensor.room_202_energy") is not None

    # Channel 2 goes away, channel 1 is renamed, channel 3 (no relay) arrives.
    await announce(
        hass,
        announcement(
            channels=[
                {"id": "1", "name": "Room 201A", "relay": True},
                {"id": "3", "name": "Corridor"},
            ]
        ),
    )
    assert hass.states.get("sensor.room_202_energy") is None
    assert entity_registry.async_get_entity_id("sensor", DOMAIN, f"{DEVICE_ID}_2_energy") is None
    assert find_device(hass, f"{DEVICE_ID}_2") is None
    renamed = find_device(hass, f"{DEVICE_ID}_1")
    assert renamed is not None
    assert renamed.name == "Room 201A"
    # Entity ids stay what they were (HA keeps them stable across device renames).
    assert hass.states.get("sensor.room_201_energy") is not None

    # An identical re-announcement changes nothing: no entities, subscriptions or devices.
    before = len(er.async_entries_for_config_entry(entity_registry, entry.entry_id))
    device_updates = async_capture_events(hass, dr.EVENT_DEVICE_REGISTRY_UPDATED)
    subscriptions = mqtt_mock.async_subscribe.call_count
    await announce(
        hass,
        announcement(
            channels=[
                {"id": "1", "name": "Room 201A", "relay": True},
                {"id": "3", "name": "Corridor"},
            ]
        ),
    )
    assert len(er.async_entries_for_config_entry(entity_registry, entry.entry_id)) == before
    assert device_updates == []
    assert mqtt_mock.async_subscribe.call_count == subscriptions

    await announce(hass, "")
    assert find_device(hass, DEVICE_ID) is None
    assert find_device(hass, f"{DEVICE_ID}_1") is None
    assert er.async_entries_for_config_entry(entity_registry, entry.entry_id) == []
    assert hass.states.get("sensor.room_201_energy") is None


async def test_announcements_after_setup_join_the_hub(
    hass: HomeAssistant, mqtt_mock: object, device_registry: dr.DeviceRegistry
) -> None:
    entry = await setup_hub(hass)
    await announce(hass)
    fire(
        hass,
        "tenant_metering/discovery/b2/config",
        announcement(device_id="b2", base_topic="tenant_metering/b2", name="Floor 3 DB"),
        retain=True,
    )
    await hass.async_block_till_done()
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert {d.name for d in devices if d.via_device_id is None} == {"Floor 2 DB", "Floor 3 DB"}
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


@pytest.mark.parametrize(
    ("topic_suffix", "payload"),
    [
        ("state", "{not json"),
        ("state", '{"ts": 1, "channels": {"1": {"power": 5}}}'),
        ("state", '{"ts": "yesterday", "channels": {}}'),
        ("state", '{"ts": 1, "channels": {"1": {"energy_wh": 1.5}}}'),
        ("backlog", '{"readings": 5}'),
        ("ack", '{"ok": true}'),
        ("availability", "maybe"),
    ],
)
async def test_malformed_payloads_are_logged_once_and_ignored(
    hass: HomeAssistant,
    mqtt_mock: object,
    caplog: pytest.LogCaptureFixture,
    topic_suffix: str,
    payload: str,
) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="custom_components.tenant_metering"):
        for _ in range(3):
            fire(hass, f"{BASE}/{topic_suffix}", payload)
            await hass.async_block_till_done()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert DEVICE_ID in warnings[0].getMessage()
    assert state_of(hass, "sensor.room_201_power") == "712.4"


async def test_malformed_announcement_is_ignored(
    hass: HomeAssistant, mqtt_mock: object, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_hub(hass)
    await announce(hass, '{"schema": 1, "device_id": "a4cf12ab34cd"}')
    assert entry.runtime_data.breakers == {}
    assert "Ignoring malformed discovery" in caplog.text


async def test_unknown_channel_in_state_is_ignored(hass: HomeAssistant, mqtt_mock: object) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"9": FULL_CHANNEL}))
    await hass.async_block_till_done()
    assert hass.states.async_entity_ids("sensor") == []


async def test_relay_state_unknown_until_reported(hass: HomeAssistant, mqtt_mock: object) -> None:
    await setup_hub(hass)
    await announce(hass)
    assert state_of(hass, "switch.room_201_relay") == STATE_UNKNOWN


async def test_entities_come_back_after_restart(
    hass: HomeAssistant, mqtt_mock: object, entity_registry: er.EntityRegistry
) -> None:
    entry = await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await announce(hass)
    # Known entities are back before the first state message, with unknown values.
    power = hass.states.get("sensor.room_201_power")
    assert power is not None
    assert power.state == STATE_UNKNOWN


async def test_an_announcement_reads_only_its_own_channels_entities(
    hass: HomeAssistant, mqtt_mock: object, entity_registry: er.EntityRegistry
) -> None:
    """Entities known from an earlier run are found through the breaker's channel devices:
    an announcement's cost does not grow with every other breaker's entities (a restart
    with hundreds of breakers announcing at once), and a disabled one stays known."""
    entry = await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    power = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{DEVICE_ID}_1_power")
    assert power is not None
    entity_registry.async_update_entity(power, disabled_by=er.RegistryEntryDisabler.USER)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    with patch(
        "homeassistant.helpers.entity_registry.async_entries_for_config_entry",
        side_effect=AssertionError("scanned every entity of the hub"),
    ):
        await announce(hass)
    assert state_of(hass, "sensor.room_201_voltage") == STATE_UNKNOWN
    assert hass.states.get("sensor.room_201_power") is None  # disabled: known, not added
    assert f"{DEVICE_ID}_1_power" in entry.runtime_data.breakers[DEVICE_ID].entity_keys


async def test_a_state_message_writes_only_the_states_that_changed(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    """Unchanged fields cost nothing: no write, so no ``state_reported`` either; a changed
    field (or one the device stops sending) is written."""
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL, "2": FULL_CHANNEL}))
    await hass.async_block_till_done()
    changed = async_capture_events(hass, EVENT_STATE_CHANGED)
    reported: list[Event[Any]] = []

    @callback
    def _every(_: Any) -> bool:
        return True

    @callback
    def _reported(event: Event[Any]) -> None:
        reported.append(event)

    # HA refuses a state_reported listener without a filter (it is fired very often).
    hass.bus.async_listen(EVENT_STATE_REPORTED, _reported, event_filter=_every)

    without_frequency = {k: v for k, v in FULL_CHANNEL.items() if k != "frequency"}
    second = {"1": {**FULL_CHANNEL, "voltage": 231.2, "relay": "off"}, "2": without_frequency}
    fire(hass, f"{BASE}/state", state(2, 2, second))
    await hass.async_block_till_done()

    assert sorted(event.data["entity_id"] for event in changed) == [
        "sensor.room_201_voltage",
        "sensor.room_202_frequency",
        "switch.room_201_relay",
    ]
    assert reported == []
    assert state_of(hass, "sensor.room_201_voltage") == "231.2"
    assert state_of(hass, "switch.room_201_relay") == "off"
    assert state_of(hass, "sensor.room_202_frequency") == STATE_UNKNOWN

    fire(hass, f"{BASE}/state", state(3, 3, second))
    await hass.async_block_till_done()
    assert len(changed) == 3
    assert reported == []


async def test_entities_a_state_message_adds_are_written_once(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    """A field's first value creates its entity, which is written as it joins HA; the
    message writes it no second time. (HA itself may write a new sensor twice while adding
    it, as it stores the display precision: at most one ``state_reported`` each.)"""
    await setup_hub(hass)
    await announce(hass)
    reported: list[Event[Any]] = []

    @callback
    def _every(_: Any) -> bool:
        return True

    hass.bus.async_listen(EVENT_STATE_REPORTED, reported.append, event_filter=_every)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_201_voltage") == str(FULL_CHANNEL["voltage"])
    reports = Counter(event.data["entity_id"] for event in reported)
    assert all(count == 1 for count in reports.values()), reports


async def test_an_announcement_and_a_first_state_add_their_entities_in_one_batch(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    """One dispatcher call per message, whatever its number of new entities."""
    await setup_hub(hass)
    hub_module = "custom_components.tenant_metering.sources.mqtt.hub"
    with patch(f"{hub_module}.async_dispatcher_send", wraps=async_dispatcher_send) as send:
        await announce(hass)
        assert [len(call.args[2]) for call in send.call_args_list] == [2]  # two relays
        fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL, "2": FULL_CHANNEL}))
        await hass.async_block_till_done()
        assert [len(call.args[2]) for call in send.call_args_list] == [2, 12]
    assert len(hass.states.async_entity_ids("sensor")) == 12
    assert len(hass.states.async_entity_ids("switch")) == 2
