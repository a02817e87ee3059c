"""Modbus polling cost: requests and wall time per poll against the simulated server.

Run from the repository root: ``PYTHONPATH=. python bench/bench_modbus.py [--polls N]``.
Scenario 1 polls one 18-channel multi-circuit meter (registers + relay coils); scenario 2 a
bus of 16 PZEM-016s (one slave per room), one poller per slave sharing one bus — what one
gateway config entry does per scan interval. Both over TCP on 127.0.0.1, so the figures
are the software cost (pymodbus + decoding + planning), not RS-485 line time. The pollers'
clock steps one default scan interval (30 s) per poll, so the relay coils are re-read as
often as in Home Assistant (every ``relay_refresh_s``, 300 s): the mean requests per poll
include those refreshes, the "requests/poll" figure is the steady poll between them.

The peer rows set up Home Assistant's own ``modbus`` integration (YAML, in HA's test harness)
for the same simulated 18-channel meter as a user would: one energy sensor per channel and
one switch per relay coil, either with ``verify`` (each switch reads its coil back, so HA
shows the relay's real state) or without it plus one coil binary sensor over all 18 coils
(``virtual_count``; the switches then show what they were last told), all at the same 30 s
scan interval. Each entity polls on its own timer; the server counts the read requests of
each scan interval. The peer reads only the energy registers and the relays (we read
voltage, current, power, power factor and frequency as well).

``--coordinator`` repeats both scenarios through the integration's gateway runtime inside a
Home Assistant core (HA's test harness): one ``ModbusCoordinator.async_refresh()`` per poll,
i.e. every meter of the gateway polled in turn plus the readings published to the ledger
topic (MQTT publish mocked). Entity state writes are not included (no platforms loaded).
"""

import argparse
import asyncio
import statistics
import time
from typing import Any

from custom_components.tenant_metering.const import DEFAULT_SCAN_INTERVAL
from custom_components.tenant_metering.sources.modbus.core import (
    GatewayConfig,
    MeterConfig,
    MeterPoller,
    ModbusBus,
    Quantity,
    Transport,
    load_profiles,
)
from custom_components.tenant_metering.sources.modbus.core.profile import (
    DataType,
    Table,
    WordOrder,
)
from tenant_sim.modbus_meters import ChannelValues, SimulatedMeter
from tenant_sim.modbus_server import SimulatedModbusServer


def _values(index: int) -> ChannelValues:
    return ChannelValues(
        voltage=230.0,
        current=1.0 + index,
        power=230.0 * (1 + index),
        power_factor=0.95,
        frequency=50.0,
        energy_wh=1_000_000 + 1000 * index,
    )


class _ScanClock:
    """The pollers' monotonic clock: one scan interval further at every poll."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _scenario(
    name: str, slave_ids: list[int], profile_id: str, channel_count: int | None, polls: int
) -> None:
    profile = load_profiles().profiles[profile_id]
    clock = _ScanClock()
    async with SimulatedModbusServer(slave_ids) as server:
        for slave_id in slave_ids:
            meter = SimulatedMeter(server, profile, slave_id=slave_id, channel_count=channel_count)
            for index, channel_id in enumerate(meter.channels):
                meter.set_channel(channel_id, _values(index + slave_id))
        bus = ModbusBus(GatewayConfig(transport=Transport.TCP, host=server.host, port=server.port))
        pollers = [
            MeterPoller(
                bus,
                MeterConfig(profile=profile, slave_id=s, channel_count=channel_count),
                clock=clock,
            )
            for s in slave_ids
        ]
        try:
            await bus.connect()
            times = []
            requests = []
            failed = 0
            for _ in range(polls):
                before = server.requests
                start = time.perf_counter()
                readings = [await poller.poll() for poller in pollers]
                times.append(time.perf_counter() - start)
                requests.append(server.requests - before)
                failed += sum(reading.failed_requests for reading in readings)
                clock.now += DEFAULT_SCAN_INTERVAL
        finally:
            await bus.close()
    channels = sum(len(p.channels) for p in pollers)
    print(
        f"{name}: {channels} channels, {statistics.mode(requests)} requests/poll "
        f"(mean {statistics.mean(requests):.2f}, max {max(requests)}), "
        f"median {statistics.median(times) * 1000:.2f} ms/poll, "
        f"p95 {sorted(times)[int(0.95 * (len(times) - 1))] * 1000:.2f} ms, "
        f"failed requests {failed}"
    )


PEER_CONFIGS = {
    "verified": "18 energy sensors + 18 relay switches with verify (one coil read each)",
    "one coil sensor": (
        "18 energy sensors + 18 relay switches without verify + 1 binary sensor "
        "(virtual_count 17) reading all 18 coils at once"
    ),
}


def _peer_config(
    server: SimulatedModbusServer, meter: SimulatedMeter, relays: str
) -> dict[str, object]:
    """HA modbus YAML for the simulated meter, addresses and scaling from the same profile:
    an energy sensor and a relay switch per channel; the relays' state either read back by
    each switch (``verify``) or by one binary sensor over all coils (HA's ``virtual_count``).
    """
    sensors = []
    switches = []
    coils = []
    for channel_id, channel in meter.channels.items():
        energy = channel.value(Quantity.ENERGY)
        if energy is None or (energy.data_type, energy.word_order, energy.unit) != (
            DataType.U32,
            WordOrder.HIGH_FIRST,
            "kWh",
        ):
            raise ValueError(f"channel {channel_id}: the peer config expects a u32 kWh register")
        if channel.relay is None or channel.relay.table is not Table.COIL:
            raise ValueError(f"channel {channel_id}: the peer config expects a relay coil")
        sensors.append(
            {
                "name": f"Channel {channel_id} energy",
                "device_address": meter.slave_id,
                "address": energy.address,
                "input_type": "holding",
                "data_type": "uint32",
                "scale": float(energy.scale),
                "precision": 2,
                "unit_of_measurement": "kWh",
                "device_class": "energy",
                "state_class": "total_increasing",
                "scan_interval": DEFAULT_SCAN_INTERVAL,
            }
        )
        switches.append(
            {
                "name": f"Channel {channel_id} relay",
                "device_address": meter.slave_id,
                "address": channel.relay.address,
                "write_type": "coil",
                "scan_interval": DEFAULT_SCAN_INTERVAL,
            }
            | ({"verify": {}} if relays == "verified" else {})
        )
        coils.append(channel.relay.address)
    config: dict[str, object] = {
        "name": "peer_meter",
        "type": "tcp",
        "host": server.host,
        "port": server.port,
        "sensors": sensors,
        "switches": switches,
    }
    if relays == "one coil sensor":
        assert coils == list(range(coils[0], coils[0] + len(coils)))
        config["binary_sensors"] = [
            {
                "name": "Relays",
                "device_address": meter.slave_id,
                "address": coils[0],
                "input_type": "coil",
                "virtual_count": len(coils) - 1,
                "scan_interval": DEFAULT_SCAN_INTERVAL,
            }
        ]
    return config


def _fire_home_assistant_timers(hass: Any, seconds: float) -> None:
    """Run Home Assistant's timers due within ``seconds`` (the entities' scan intervals).

    Not the harness's ``async_fire_time_changed``: that fires every timer of the loop, among
    them pymodbus' request timeouts, and real I/O is in flight here.
    """
    from homeassistant.util.async_ import get_scheduled_timer_handles  # noqa: PLC0415

    deadline = hass.loop.time() + seconds
    for handle in list(get_scheduled_timer_handles(hass.loop)):  # not the ones they schedule
        callback = getattr(handle, "_callback", None)
        if handle.cancelled() or handle.when() > deadline:
            continue
        if getattr(callback, "__module__", "").startswith("homeassistant."):
            handle._run()  # as the harness's async_fire_time_changed does
            handle.cancel()


async def _peer_scenario(name: str, channel_count: int, relays: str, scans: int) -> None:
    """Requests per scan interval of HA's own modbus integration reading the same meter."""
    # Imported here: the other scenarios need no Home Assistant.
    from homeassistant.setup import async_setup_component  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        async_test_home_assistant,
    )

    profile = load_profiles().profiles["generic_multi_circuit"]
    async with SimulatedModbusServer([1]) as server:
        meter = SimulatedMeter(server, profile, slave_id=1, channel_count=channel_count)
        for index, channel_id in enumerate(meter.channels):
            meter.set_channel(channel_id, _values(index + 1))
        async with async_test_home_assistant() as hass:
            config = _peer_config(server, meter, relays)
            assert await async_setup_component(hass, "modbus", {"modbus": [config]})
            await hass.async_block_till_done()
            for _attempt in range(100):  # the hub connects in the background
                await asyncio.sleep(0.05)
                _fire_home_assistant_timers(hass, 1)  # the entities' first update
                await hass.async_block_till_done(wait_background_tasks=True)
                if hass.states.get(f"sensor.channel_{channel_count}_energy").state != "unknown":
                    break
            requests = []
            for _scan in range(scans):
                before = server.requests
                _fire_home_assistant_timers(hass, DEFAULT_SCAN_INTERVAL + 1)
                # Interval timers run their entity's update as a background task.
                await hass.async_block_till_done(wait_background_tasks=True)
                requests.append(server.requests - before)
            for index, channel_id in enumerate(meter.channels):
                state = hass.states.get(f"sensor.channel_{channel_id}_energy").state
                expected = _values(index + 1).energy_wh
                assert round(float(state) * 1000) == expected, (channel_id, state, expected)
                if relays == "verified":  # else the switch shows what it was last told
                    assert hass.states.get(f"switch.channel_{channel_id}_relay").state == "on"
            if relays == "one coil sensor":
                assert hass.states.get("binary_sensor.relays").state == "on"
            await hass.async_stop(force=True)
    print(
        f"peer: HA modbus integration, {name}, {relays}: {channel_count} channels, "
        f"{statistics.mode(requests)} requests/poll (mean {statistics.mean(requests):.2f}, "
        f"max {max(requests)}; {PEER_CONFIGS[relays]}; {scans} scan intervals)"
    )


async def _coordinator_scenario(
    name: str, slave_ids: list[int], profile_id: str, channel_count: int | None, polls: int
) -> None:
    # Imported here: plain polling needs no Home Assistant.
    from unittest.mock import AsyncMock, patch  # noqa: PLC0415

    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
        async_test_home_assistant,
    )

    from custom_components.tenant_metering.sources.modbus.gateway import ModbusGateway  # noqa: PLC0415

    profile = load_profiles().profiles[profile_id]
    async with SimulatedModbusServer(slave_ids) as server:
        for slave_id in slave_ids:
            meter = SimulatedMeter(server, profile, slave_id=slave_id, channel_count=channel_count)
            for index, channel_id in enumerate(meter.channels):
                meter.set_channel(channel_id, _values(index + slave_id))
        async with async_test_home_assistant() as hass:
            entry = MockConfigEntry(
                domain="tenant_metering",
                title="Bench",
                unique_id="bench",
                data={
                    "kind": "modbus_gateway",
                    "transport": "tcp",
                    "host": server.host,
                    "port": server.port,
                },
                subentries_data=[
                    {
                        "data": {"profile": profile_id, "slave_id": s}
                        | ({"channel_count": channel_count} if channel_count else {}),
                        "subentry_type": "meter",
                        "title": f"M{s}",
                        "unique_id": str(s),
                    }
                    for s in slave_ids
                ],
            )
            entry.add_to_hass(hass)
            gateway = ModbusGateway(hass, entry, load_profiles())
            publish = AsyncMock()
            with patch("homeassistant.components.mqtt.async_publish", publish):
                times = []
                await gateway.coordinator.async_refresh()  # connect
                start_requests = gateway.bus.requests
                for _ in range(polls):
                    start = time.perf_counter()
                    await gateway.coordinator.async_refresh()
                    times.append(time.perf_counter() - start)
                await hass.async_block_till_done()
            await gateway.async_stop()
            requests = gateway.bus.requests - start_requests
            await hass.async_stop(force=True)
    print(
        f"{name} via coordinator: {requests / polls:.0f} requests/poll, "
        f"median {statistics.median(times) * 1000:.2f} ms/poll, "
        f"p95 {sorted(times)[int(0.95 * (len(times) - 1))] * 1000:.2f} ms, "
        f"{publish.await_count} ledger publishes (one per point and second)"
    )


async def _main(polls: int, coordinator: bool) -> None:
    scenarios = [
        ("18-channel multi-circuit meter", [1], "generic_multi_circuit", 18),
        ("bus of 16 PZEM-016", list(range(1, 17)), "peacefair_pzem016", None),
    ]
    for name, slaves, profile_id, count in scenarios:
        await _scenario(name, slaves, profile_id, count, polls)
        if coordinator:
            await _coordinator_scenario(name, slaves, profile_id, count, polls)
    for relays in PEER_CONFIGS:
        await _peer_scenario("same 18-channel meter", 18, relays, scans=min(polls, 20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--coordinator", action="store_true", help="also through HA")
    args = parser.parse_args()
    asyncio.run(_main(args.polls, args.coordinator))


if __name__ == "__main__":
    main()
