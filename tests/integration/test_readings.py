"""Readings to the ledger: one QoS 1 batch per state message, stable point ids, no repeats."""

import json
from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
import pytest

from custom_components.tenant_metering.readings import PointReading, readings_payload
from custom_components.tenant_metering.resources import Resource

from .common import (
    BASE,
    DEVICE_ID,
    FULL_CHANNEL,
    announce,
    announcement,
    fire,
    ledger_entry,
    published,
    setup_hub,
    state,
)

READINGS = "tenant_metering/readings"


async def test_each_state_message_becomes_one_batch(
    hass: HomeAssistant, mqtt_mock: MagicMock
) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(
        hass,
        f"{BASE}/state",
        state(1763800000, 1042, {"1": FULL_CHANNEL, "2": {"energy_wh": 5}, "9": {"energy_wh": 1}}),
    )
    await hass.async_block_till_done()
    (batch,) = await published(mqtt_mock, READINGS)
    assert batch == {
        "v": 2,
        "readings": [
            {"point": f"mqtt:{DEVICE_ID}:1", "ts": 1763800000, "energy_wh": 1234567, "seq": 1042},
            {"point": f"mqtt:{DEVICE_ID}:2", "ts": 1763800000, "energy_wh": 5, "seq": 1042},
        ],
    }
    (call,) = [c for c in mqtt_mock.async_publish.call_args_list if c.args[0] == READINGS]
    assert call.args[2:] == (1, False)  # QoS 1, not retained
    # Contract v2; an electricity reading is what it was in v1, byte for byte.
    assert call.args[1].startswith(
        '{"v":2,"readings":[{"point":"mqtt:a4cf12ab34cd:1","ts":1763800000,"energy_wh":1234567,'
    )

    # The same message again (a broker redelivery) is not re-published.
    fire(hass, f"{BASE}/state", state(1763800000, 1042, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    fire(hass, f"{BASE}/state", state(1763800010, 1043, {"1": {"energy_wh": 1234570}}))
    await hass.async_block_till_done()
    batches = await published(mqtt_mock, READINGS, count=2)
    assert len(batches) == 2
    assert batches[1]["readings"] == [
        {"point": f"mqtt:{DEVICE_ID}:1", "ts": 1763800010, "energy_wh": 1234570, "seq": 1043}
    ]


async def test_point_ids_survive_renames(hass: HomeAssistant, mqtt_mock: MagicMock) -> None:
    """Point ids come from the device id and channel id, never from names or entity ids."""
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": {"energy_wh": 1}}))
    await hass.async_block_till_done()
    await announce(
        hass,
        {
            "schema": 1,
            "device_id": DEVICE_ID,
            "name": "Renamed DB",
            "base_topic": BASE,
            "channels": [{"id": "1", "name": "Shop 1", "relay": True}],
        },
    )
    fire(hass, f"{BASE}/state", state(2, 2, {"1": {"energy_wh": 2}}))
    await hass.async_block_till_done()
    batches = await published(mqtt_mock, READINGS, count=2)
    assert {r["point"] for b in batches for r in b["readings"]} == {f"mqtt:{DEVICE_ID}:1"}


async def test_readings_follow_the_ledger_links_prefix(
    hass: HomeAssistant, mqtt_mock: MagicMock
) -> None:
    """A hub on another prefix publishes on its own until a ledger is linked, then on the
    ledger's, like every other source (resolved at publish time, no reload)."""
    await setup_hub(hass, "building_b")
    fire(hass, "building_b/discovery/a4cf12ab34cd/config", announcement(base_topic="building_b/x"))
    await hass.async_block_till_done()
    fire(hass, "building_b/x/state", state(10, 1, {"1": {"energy_wh": 1}}))
    await hass.async_block_till_done()
    assert len(await published(mqtt_mock, "building_b/readings")) == 1

    ledger = ledger_entry("http://ledger.invalid")
    ledger.add_to_hass(hass)  # not set up: its entry alone names the prefix
    fire(hass, "building_b/x/state", state(20, 2, {"1": {"energy_wh": 2}}))
    await hass.async_block_till_done()
    (batch,) = await published(mqtt_mock, READINGS)
    assert batch["readings"][0]["energy_wh"] == 2
    assert len(await published(mqtt_mock, "building_b/readings")) == 1


@pytest.mark.parametrize(
    ("resource", "key"),
    [
        (Resource.ELECTRICITY, "energy_wh"),
        (Resource.HEAT, "energy_wh"),
        (Resource.WATER, "volume_l"),
        (Resource.GAS, "volume_l"),
    ],
)
def test_a_reading_carries_its_register_under_its_resources_key(
    resource: Resource, key: str
) -> None:
    """Contract v2: Wh registers as energy_wh, litre registers as volume_l, nothing else."""
    reading = PointReading(point="ha:x", ts=1763800000, resource=resource, register=123456, seq=7)
    assert json.loads(readings_payload([reading.body()])) == {
        "v": 2,
        "readings": [{"point": "ha:x", "ts": 1763800000, key: 123456, "seq": 7}],
    }
