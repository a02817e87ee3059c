"""Leak alarms from the ledger: a moisture sensor per watched point, one event per alarm."""

import json
from typing import Any
from unittest.mock import MagicMock

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from hypothesis import given, settings, strategies as st
import pytest

from custom_components.tenant_metering.const import EVENT_LEAK
from custom_components.tenant_metering.ledger_link.leaks import parse_leak_state

from .common import attributes_of, fire, state_of
from .fake_ledger import FakeLedger
from .test_ledger_link import setup_ledger

POINT = "water:room1"
TOPIC = f"tenant_metering/ledger/alarms/{POINT}"
SENSOR = "binary_sensor.tenant_metering_ledger_leak_water_room1"
WATCH = {"window_start": "23:00", "window_end": "05:00", "minimum_per_hour": 8, "enabled": True}


def leak_state(
    *, active: bool, alarm_id: int | None = 1, acknowledged: bool = False
) -> dict[str, Any]:
    alarm = None
    if alarm_id is not None:
        alarm = {
            "id": alarm_id,
            "point": POINT,
            "night": "2026-11-09",
            "window_start": 1794261600,
            "window_end": 1794283200,
            "minimum_per_hour": 8,
            "lowest_per_hour": 12,
            "volume": 72,
            "detected_at": 1794319200,
            "acknowledged": acknowledged,
            "acknowledged_at": 1794320000 if acknowledged else None,
            "acknowledged_by": "Maria" if acknowledged else None,
        }
    return {"point": POINT, "active": active, "watch": WATCH | {"point": POINT}, "alarm": alarm}


@pytest.fixture
def leak_events(hass: HomeAssistant) -> list[Event]:
    heard: list[Event] = []

    @callback
    def listen(event: Event) -> None:
        heard.append(event)

    hass.bus.async_listen(EVENT_LEAK, listen)
    return heard


async def test_a_leak_turns_the_points_sensor_on_and_fires_one_event(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger, leak_events: list[Event]
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, TOPIC, leak_state(active=False, alarm_id=None), retain=True)
    await hass.async_block_till_done()
    assert state_of(hass, SENSOR) == "off"
    assert attributes_of(hass, SENSOR)["device_class"] == "moisture"
    assert attributes_of(hass, SENSOR)["window"] == "23:00-05:00"

    fire(hass, TOPIC, leak_state(active=True))
    await hass.async_block_till_done()
    assert state_of(hass, SENSOR) == "on"
    assert attributes_of(hass, SENSOR)["lowest_per_hour"] == 12
    fire(hass, TOPIC, leak_state(active=True))  # the ledger restarted and republished
    await hass.async_block_till_done()
    assert [event.data for event in leak_events] == [
        {
            "point": POINT,
            "entity_id": SENSOR,
            "alarm_id": 1,
            "night": "2026-11-09",
            "window": "23:00-05:00",
            "minimum_per_hour": 8,
            "lowest_per_hour": 12,
            "volume": 72,
        }
    ]

    fire(hass, TOPIC, "not json")  # ignored: the last good state stays
    await hass.async_block_till_done()
    assert state_of(hass, SENSOR) == "on"
    fire(hass, TOPIC, leak_state(active=False, acknowledged=True))
    await hass.async_block_till_done()
    assert state_of(hass, SENSOR) == "off"
    assert attributes_of(hass, SENSOR)["acknowledged"] is True
    assert len(leak_events) == 1


async def test_an_alarm_retained_while_home_assistant_was_down_fires_at_start(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger, leak_events: list[Event]
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, TOPIC, leak_state(active=True, alarm_id=7), retain=True)
    await hass.async_block_till_done()
    assert state_of(hass, SENSOR) == "on"
    assert [event.data["alarm_id"] for event in leak_events] == [7]
    assert [event.data["entity_id"] for event in leak_events] == [SENSOR]


async def test_a_removed_watch_removes_its_sensor_and_a_new_watch_brings_it_back(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, TOPIC, leak_state(active=False, alarm_id=None), retain=True)
    await hass.async_block_till_done()
    assert er.async_get(hass).async_get(SENSOR) is not None
    fire(hass, TOPIC, "")
    await hass.async_block_till_done()
    assert hass.states.get(SENSOR) is None
    assert er.async_get(hass).async_get(SENSOR) is None
    fire(hass, TOPIC, leak_state(active=False, alarm_id=None))
    await hass.async_block_till_done()
    assert state_of(hass, SENSOR) == "off"


async def test_a_state_on_another_points_topic_is_ignored(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, "tenant_metering/ledger/alarms/water:room2", leak_state(active=True))
    await hass.async_block_till_done()
    assert hass.states.async_entity_ids("binary_sensor") == [
        "binary_sensor.tenant_metering_cutoff_guard",
        "binary_sensor.room_101_arrears",
    ]


@pytest.mark.parametrize(
    "payload",
    [
        b"{}",
        b"null",
        b"[]",
        json.dumps(leak_state(active=True, alarm_id=None)).encode(),
        json.dumps(leak_state(active=True, acknowledged=True)).encode(),
        json.dumps(leak_state(active="yes")).encode(),  # type: ignore[arg-type]
        json.dumps(leak_state(active=True) | {"watch": {}}).encode(),
        json.dumps(leak_state(active=True, alarm_id=-1)).encode(),
        json.dumps(leak_state(active=True) | {"point": "water:room2"}).encode(),
        b"[" * 100_000,
        b"\xff\xfe",
    ],
)
def test_malformed_leak_states_are_ignored(payload: bytes) -> None:
    assert parse_leak_state(POINT, payload) is None


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=5000), st.text(max_size=5000)), st.text(max_size=300))
def test_any_payload_on_any_topic_gives_a_state_or_none(payload: bytes | str, point: str) -> None:
    state = parse_leak_state(point, payload)
    assert state is None or (state.point == point and isinstance(state.active, bool))
