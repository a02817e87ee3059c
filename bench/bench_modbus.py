"""Modbus polling cost: requests and wall time per poll against the simulated server.

Run from the repository root: ``PYTHONPATH=. python bench/bench_modbus.py [--polls N]``.
Scenario 1 polls one 18-channel multi-circuit meter (registers + relay coils); scenario 2 a
bus of 16 PZEM-016s (one slave per room), one poller per slave sharing one bus — what one
gateway config entry does per scan interval. Both over TCP on 127.0.0.1, so the figures
are the software cost (pymodbus + decoding + planning), not RS-485 line time.

``--coordinator`` repeats both scenarios through the integration's gateway runtime inside a
Home Assistant core (HA's test harness): one ``ModbusCoordinator.async_refresh()`` per poll,
i.e. every meter of the gateway polled in turn plus the readings published to the ledger
topic (MQTT publish mocked). Entity state writes are not included (no platforms loaded).
"""

import argparse
import asyncio
import statistics
import time

from custom_components.tenant_metering.sources.modbus.core import (
    GatewayConfig,
    MeterConfig,
    MeterPoller,
    ModbusBus,
    Transport,
    load_profiles,
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


async def _scenario(
    name: str, slave_ids: list[int], profile_id: str, channel_count: int | None, polls: int
) -> None:
    profile = load_profiles().profiles[profile_id]
    async with SimulatedModbusServer(slave_ids) as server:
        for slave_id in slave_ids:
            meter = SimulatedMeter(server, profile, slave_id=slave_id, channel_count=channel_count)
            for index, channel_id in enumerate(meter.channels):
                meter.set_channel(channel_id, _values(index + slave_id))
        bus = ModbusBus(GatewayConfig(transport=Transport.TCP, host=server.host, port=server.port))
        pollers = [
            MeterPoller(bus, MeterConfig(profile=profile, slave_id=s, channel_count=channel_count))
            for s in slave_ids
        ]
        try:
            await bus.connect()
            times = []
            failed = 0
            for _ in range(polls):
                start = time.perf_counter()
                readings = [await poller.poll() for poller in pollers]
                times.append(time.perf_counter() - start)
                failed += sum(reading.failed_requests for reading in readings)
        finally:
            await bus.close()
    channels = sum(len(p.channels) for p in pollers)
    print(
        f"{name}: {channels} channels, {bus.requests / polls:.0f} requests/poll, "
        f"median {statistics.median(times) * 1000:.2f} ms/poll, "
        f"p95 {sorted(times)[int(0.95 * (len(times) - 1))] * 1000:.2f} ms, "
        f"failed requests {failed}"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--coordinator", action="store_true", help="also through HA")
    args = parser.parse_args()
    asyncio.run(_main(args.polls, args.coordinator))


if __name__ == "__main__":
    main()
