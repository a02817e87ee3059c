"""The demo building's hardware running in real time: MQTT breakers and a Modbus meter.

Each tick meters every circuit up to now: the breakers (``tenant_sim.breakers``) publish the
native protocol, the Modbus meter's registers are rewritten, and a *bridge* publishes the
canonical readings (docs/ledger-contract.md) of the points no Home Assistant forwards: the
Modbus channels always (the integration has no Modbus config entry in the demo), the breakers
only when Home Assistant is not running. A relay switched off by anyone (Home Assistant's
switch, a Modbus client writing the coil) takes that circuit's load, and the incomer's share
of it, away. The hot-water heat meter is a second slave on the same server. The rooms'
cold-water pulse counters publish their totals as ESPHome nodes do (``tenant_sim.pulse_counters``):
Home Assistant adopts them, and the bridge forwards their readings (under the ledger point
each one was registered as) and the heat meter's only while no Home Assistant does.
"""

from dataclasses import replace
import json
from typing import Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from custom_components.tenant_metering.sources.modbus.core.loader import load_profiles
from tenant_sim import pulse_counters
from tenant_sim.breakers import SimulatedBreaker, SimulatedChannel
from tenant_sim.building import (
    HEAT_PROFILE,
    HEAT_SLAVE_ID,
    MODBUS_CHANNELS,
    MODBUS_PROFILE,
    MODBUS_SLAVE_ID,
    PREFIX,
    Breaker,
    Building,
)
from tenant_sim.clock import SimClock
from tenant_sim.ledger_api import readings_body
from tenant_sim.modbus_meters import ChannelValues, SimulatedMeter
from tenant_sim.modbus_server import SimulatedModbusServer
from tenant_sim.net import LOOPBACK
from tenant_sim.registers import BuildingRegisters, CircuitReading, Reading

READINGS_TOPIC: Final = f"{PREFIX}/readings"


class LiveBuilding:
    """Breakers, the Modbus meter and the readings bridge, stepped by ``tick()``."""

    def __init__(
        self,
        building: Building,
        registers: BuildingRegisters,
        mqtt_port: int,
        clock: SimClock | None = None,
    ) -> None:
        """``registers``: the building metered up to now (the history already in the ledger)."""
        self.clock = clock or SimClock()
        self.building = building
        self.registers = registers
        self.mqtt_port = mqtt_port
        self.bridge_breakers = True
        """Whether the bridge forwards breaker readings (no Home Assistant does)."""
        self.bridge_modbus = True
        """Whether the bridge forwards the Modbus meter's readings (no Home Assistant does)."""
        self.bridge_heat = True
        """Whether the bridge forwards the heat meter's readings (no Home Assistant polls it)."""
        self.bridge_water = True
        """Whether the bridge forwards the water counters' readings (no Home Assistant has
        adopted them)."""
        self.water_points = {meter.point_id: meter.point_id for meter in building.water_meters}
        """Each water counter's point id in the ledger: an adopted counter's is Home
        Assistant's (``ha:…``)."""
        self.breakers = [_breaker(b, registers, mqtt_port, self.clock) for b in building.breakers]
        self.modbus = SimulatedModbusServer([MODBUS_SLAVE_ID, HEAT_SLAVE_ID])
        profiles = load_profiles().profiles
        self._meter: SimulatedMeter | None = None
        self._heat_meter: SimulatedMeter | None = None
        self._profile = profiles[MODBUS_PROFILE]
        self._heat_profile = profiles[HEAT_PROFILE]
        self._bridge = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-readings-bridge")
        self.published = 0
        """Readings the bridge has published."""

    async def start(self) -> None:
        await self.modbus.start()
        self._meter = SimulatedMeter(
            self.modbus, self._profile, slave_id=MODBUS_SLAVE_ID, channel_count=MODBUS_CHANNELS
        )
        self._heat_meter = SimulatedMeter(self.modbus, self._heat_profile, slave_id=HEAT_SLAVE_ID)
        self._bridge.connect(LOOPBACK, self.mqtt_port)
        self._bridge.loop_start()
        for meter in self.building.water_meters:
            self._bridge.publish(*pulse_counters.discovery(meter), qos=1, retain=True)
        for breaker in self.breakers:
            breaker.connect()
        self.tick()

    async def stop(self) -> None:
        for breaker in self.breakers:
            breaker.disconnect()
        self._bridge.disconnect()
        self._bridge.loop_stop()
        await self.modbus.stop()

    def tick(self, now: float | None = None) -> list[Reading]:
        """Meter everything up to ``now``; returns the readings the bridge published."""
        now = self.clock.time() if now is None else now
        forwarded: list[Reading] = []
        for spec, breaker in zip(self.building.breakers, self.breakers, strict=True):
            message = breaker.step(now)
            channel = breaker.channels[0]
            if channel.relay_on:
                self.registers.off.discard(spec.circuit.point_id)
            else:
                self.registers.off.add(spec.circuit.point_id)
            if self.bridge_breakers:
                forwarded.append(
                    CircuitReading(
                        point_id=spec.circuit.point_id,
                        ts=int(message["ts"]),
                        energy_wh=channel.energy_wh,
                        power_w=0.0,
                        voltage=0.0,
                        current=0.0,
                        power_factor=0.0,
                    )
                )
        modbus = self._meter_modbus(int(now))
        if self.bridge_modbus:
            forwarded.extend(modbus)
        forwarded.extend(self._meter_water_and_heat(int(now)))
        if forwarded:
            self._bridge.publish(READINGS_TOPIC, json.dumps(readings_body(forwarded)), qos=1)
        self.published += len(forwarded)
        return forwarded

    def _meter_modbus(self, now: int) -> list[CircuitReading]:
        assert self._meter is not None
        for spec in self.building.modbus_channels:
            relay = self._meter.relay(str(spec.channel))
            if relay is False:
                self.registers.off.add(spec.circuit.point_id)
            else:
                self.registers.off.discard(spec.circuit.point_id)
        self.registers.advance(now)
        readings = []
        for spec in self.building.modbus_channels:
            reading = self.registers.reading(spec.circuit)
            self._meter.set_channel(
                str(spec.channel),
                ChannelValues(
                    energy_wh=reading.energy_wh,
                    voltage=reading.voltage,
                    current=reading.current,
                    power=reading.power_w,
                    power_factor=reading.power_factor,
                    frequency=50.0,
                ),
            )
            readings.append(reading)
        return readings

    def _meter_water_and_heat(self, now: int) -> list[Reading]:
        """The counters' totals onto their state topics, the heat register into slave 2; the
        readings the bridge forwards of them."""
        assert self._heat_meter is not None
        self.registers.advance(now)
        readings = self.registers.meter_readings()
        self._heat_meter.set_channel("1", ChannelValues(energy_wh=self.registers.heat_wh()))
        water = [r for r in readings if r.point_id in self.water_points]
        for topic, litres in pulse_counters.states(self.building.water_meters, water):
            self._bridge.publish(topic, litres, qos=1, retain=True)
        forwarded: list[Reading] = []
        if self.bridge_water:
            forwarded += [replace(r, point_id=self.water_points[r.point_id]) for r in water]
        if self.bridge_heat:
            forwarded += [r for r in readings if r.point_id not in self.water_points]
        return forwarded


def _breaker(
    spec: Breaker, registers: BuildingRegisters, mqtt_port: int, clock: SimClock
) -> SimulatedBreaker:
    """The simulated device for ``spec``, its register continuing from ``registers``."""
    load = spec.circuit.load
    assert load is not None, "a breaker feeds a room, never the incomer"
    return SimulatedBreaker(
        device_id=spec.device_id,
        name=spec.name,
        host=LOOPBACK,
        port=mqtt_port,
        prefix=PREFIX,
        model="SIM-BR1",
        clock=clock.time,
        channels=[
            SimulatedChannel(
                id="1",
                name=spec.circuit.name,
                profile=load,
                energy_wh=registers.energy_wh(spec.circuit),
            )
        ],
    )
