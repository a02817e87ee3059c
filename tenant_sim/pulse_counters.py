"""The rooms' cold-water pulse counters as ESPHome nodes publish them: MQTT discovery.

Each let room has its own ESPHome node (``water-r101``…) counting the meter's pulses (1 L a
pulse) into a total. ESPHome announces it under Home Assistant's MQTT discovery prefix in its
own shape (abbreviated keys, a device, ``device_class: water``, ``state_class:
total_increasing``, litres) and publishes the total retained on its state topic, so Home
Assistant's MQTT integration makes it a water sensor that the installer then adopts in Tenant
Metering as the room's water metering point.
"""

from collections.abc import Iterable
import json
from typing import Any, Final

from tenant_sim.building import WaterMeter
from tenant_sim.registers import MeterReading

DISCOVERY_PREFIX: Final = "homeassistant"


def node_id(meter: WaterMeter) -> str:
    """The ESPHome node's name: one small board beside each room's meter."""
    return f"water-{meter.space_id}"


def unique_id(meter: WaterMeter) -> str:
    """The sensor's unique id in Home Assistant (its MQTT discovery ``uniq_id``)."""
    return f"{node_id(meter)}-sensor-{meter.object_id}"


def state_topic(meter: WaterMeter) -> str:
    return f"{node_id(meter)}/sensor/{meter.object_id}/state"


def discovery(meter: WaterMeter) -> tuple[str, str]:
    """The retained discovery message (topic, payload) of the meter's total sensor."""
    node = node_id(meter)
    payload: dict[str, Any] = {
        "name": "Cold water",
        "dev_cla": "water",
        "unit_of_meas": "L",
        "stat_cla": "total_increasing",
        "ic": "mdi:water",
        "stat_t": state_topic(meter),
        "uniq_id": unique_id(meter),
        "dev": {
            "ids": node,
            "name": meter.name,
            "mf": "Espressif",
            "mdl": "esp32dev",
            "sw": "esphome pulse_meter",
        },
    }
    return f"{DISCOVERY_PREFIX}/sensor/{node}/{meter.object_id}/config", json.dumps(payload)


def states(meters: Iterable[WaterMeter], readings: Iterable[MeterReading]) -> list[tuple[str, str]]:
    """Each counter's state message (topic, litres as text) from its reading now."""
    litres = {reading.point_id: reading.value for reading in readings}
    return [(state_topic(meter), str(litres[meter.point_id])) for meter in meters]
