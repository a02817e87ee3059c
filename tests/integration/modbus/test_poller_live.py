"""Every built-in profile against a real pymodbus server on 127.0.0.1.

Physical values are written through the simulated meters (``tenant_sim.modbus_meters``),
read back through the bus and poller, and compared with what was written.
"""

import asyncio
from dataclasses import replace

from pymodbus.framer import FramerType
import pytest

from custom_components.tenant_metering.sources.modbus.core import (
    ChannelReading,
    MeterConfig,
    MeterPoller,
    ModbusBus,
    Profile,
    Quantity,
    RelayWriteError,
    Transport,
)
from tenant_sim.modbus_meters import ChannelValues, SimulatedMeter
from tenant_sim.modbus_server import SimulatedModbusServer, Table as ServerTable

from .conftest import gateway_for


def sample(index: int, *, energy_wh: int = 1_234_560) -> ChannelValues:
    """Distinct per-channel values that every built-in register format can hold."""
    return ChannelValues(
        voltage=230.1 + index,
        current=3.21 + index,
        power=712.4 + 100 * index,
        power_factor=0.97,
        frequency=50.0,
        energy_wh=energy_wh + 10_000 * index,
    )


def assert_reads_back(
    reading: ChannelReading, written: ChannelValues, meter: SimulatedMeter
) -> None:
    channel = meter.channel(reading.channel_id)
    for quantity in Quantity:
        spec = channel.value(quantity)
        if quantity is Quantity.ENERGY:
            assert reading.energy_wh == written.energy_wh
        elif spec is None:
            assert getattr(reading, quantity.value) is None
        else:
            expected = getattr(written, quantity.value)
            assert getattr(reading, quantity.value) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    ("profile_id", "expected_requests"),
    [
        ("peacefair_pzem016", 1),
        ("eastron_sdm120", 2),
        ("eastron_sdm630", 2),
        ("generic_prepaid_relay", 3),
        ("generic_multi_circuit", 3),
    ],
)
async def test_every_profile_reads_back_what_the_meter_holds(
    modbus_server: SimulatedModbusServer,
    bus: ModbusBus,
    profiles: dict[str, Profile],
    profile_id: str,
    expected_requests: int,
) -> None:
    profile = profiles[profile_id]
    meter = SimulatedMeter(modbus_server, profile, slave_id=1)
    written = {cid: sample(i) for i, cid in enumerate(meter.channels)}
    for channel_id, values in written.items():
        meter.set_channel(channel_id, values)
    poller = MeterPoller(bus, MeterConfig(profile=profile, slave_id=1))

    served_before = modbus_server.requests
    reading = await poller.poll()

    assert reading.available
    assert (reading.requests, reading.failed_requests) == (expected_requests, 0)
    assert modbus_server.requests - served_before == expected_requests
    assert bus.requests == expected_requests
    assert list(reading.channels) == list(written)
    for channel_id, values in written.items():
        assert_reads_back(reading.channels[channel_id], values, meter)


async def test_sdm630_large_f32_counter_reads_within_one_ulp(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    """At 123 456.789 kWh an f32 resolves 7.8 Wh; the Wh reading lands within that."""
    meter = SimulatedMeter(modbus_server, profiles["eastron_sdm630"], slave_id=1)
    meter.set_channel("total", ChannelValues(energy_wh=123_456_789))
    poller = MeterPoller(bus, MeterConfig(profile=profiles["eastron_sdm630"], slave_id=1))
    energy = (await poller.poll()).channels["total"].energy_wh
    assert energy is not None
    assert abs(energy - 123_456_789) <= 4


@pytest.mark.parametrize("modbus_slave_ids", [list(range(1, 17))])
async def test_a_bus_of_sixteen_pzems_takes_one_request_each(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    pzem = profiles["peacefair_pzem016"]
    pollers = []
    for slave_id in range(1, 17):
        SimulatedMeter(modbus_server, pzem, slave_id=slave_id).set_channel(
            "1", sample(slave_id, energy_wh=1_000_000)
        )
        pollers.append(MeterPoller(bus, MeterConfig(profile=pzem, slave_id=slave_id)))

    readings = await asyncio.gather(*(poller.poll() for poller in pollers))

    assert bus.requests == 16
    assert [r.channels["1"].energy_wh for r in readings] == [
        1_000_000 + 10_000 * slave_id for slave_id in range(1, 17)
    ]


async def test_multi_circuit_relay_coils_switch_and_cut_the_load(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    profile = profiles["generic_multi_circuit"]
    meter = SimulatedMeter(modbus_server, profile, slave_id=1, channel_count=8)
    for index, channel_id in enumerate(meter.channels):
        meter.set_channel(channel_id, replace(sample(index), relay=True))
    poller = MeterPoller(bus, MeterConfig(profile=profile, slave_id=1, channel_count=8))

    await poller.set_relay("5", False)

    assert meter.relay("5") is False
    assert meter.relay("4") is True
    meter.set_channel("5", sample(4))  # the load is still there, but the relay is open
    reading = (await poller.poll()).channels
    assert (reading["5"].relay, reading["5"].current, reading["5"].power) == (False, 0.0, 0.0)
    assert reading["4"].relay is True
    await poller.set_relay("5", True)
    assert meter.relay("5") is True


async def test_prepaid_relay_register_takes_the_profiles_values(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    profile = profiles["generic_prepaid_relay"]
    meter = SimulatedMeter(modbus_server, profile, slave_id=1)
    meter.set_channel("1", replace(sample(0), relay=False))
    poller = MeterPoller(bus, MeterConfig(profile=profile, slave_id=1))
    assert (await poller.poll()).channels["1"].relay is False

    await poller.set_relay("1", True)

    assert meter.relay("1") is True
    assert (await poller.poll()).channels["1"].relay is True


async def test_relay_commands_fail_loudly(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    sdm120 = MeterPoller(bus, MeterConfig(profile=profiles["eastron_sdm120"], slave_id=1))
    with pytest.raises(ValueError, match="has no relay"):
        await sdm120.set_relay("1", False)
    prepaid = MeterPoller(bus, MeterConfig(profile=profiles["generic_prepaid_relay"], slave_id=9))
    with pytest.raises(RelayWriteError):
        await prepaid.set_relay("1", False)  # slave 9 does not exist: the server refuses


async def test_bad_register_values_make_only_that_value_unavailable(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    sdm120 = profiles["eastron_sdm120"]
    meter = SimulatedMeter(modbus_server, sdm120, slave_id=1)
    meter.set_channel("1", sample(0))
    meter.write_words("1", Quantity.VOLTAGE, [0x7FC0, 0x0000])  # f32 NaN
    meter.write_words("1", Quantity.POWER_FACTOR, [0x4120, 0x0000])  # 10.0: out of range
    poller = MeterPoller(bus, MeterConfig(profile=sdm120, slave_id=1))

    channel = (await poller.poll()).channels["1"]

    assert (channel.voltage, channel.power_factor) == (None, None)
    assert channel.current == pytest.approx(3.21)
    assert channel.energy_wh == 1_234_560
    meter.write_words("1", Quantity.ENERGY, [0x7F80, 0x0000])  # +infinity
    assert (await poller.poll()).channels["1"].energy_wh is None


async def test_spikes_are_rejected_and_resets_flagged_through_the_poller(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    pzem = profiles["peacefair_pzem016"]
    meter = SimulatedMeter(modbus_server, pzem, slave_id=1)
    clock = iter([0.0, 10.0, 20.0, 30.0])
    poller = MeterPoller(
        bus,
        MeterConfig(profile=pzem, slave_id=1, rated_current_a={"1": 32}),
        clock=lambda: next(clock),
    )
    meter.set_channel("1", sample(0, energy_wh=500_000))
    assert (await poller.poll()).channels["1"].energy_wh == 500_000

    meter.set_channel("1", sample(0, energy_wh=4_000_000_000))  # 32 A cannot do this in 10 s
    spike = (await poller.poll()).channels["1"]
    assert (spike.energy_wh, spike.energy_rejected) == (None, True)
    assert spike.voltage == pytest.approx(230.1)

    meter.set_channel("1", sample(0, energy_wh=500_020))
    assert (await poller.poll()).channels["1"].energy_wh == 500_020

    meter.set_channel("1", sample(0, energy_wh=3))  # energy reset (PZEM function 0x42)
    reset = (await poller.poll()).channels["1"]
    assert (reset.energy_wh, reset.counter_reset) == (3, True)


async def test_server_outage_reads_none_then_values_return(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    sdm630 = profiles["eastron_sdm630"]
    meter = SimulatedMeter(modbus_server, sdm630, slave_id=1)
    meter.set_channel("L1", sample(0))
    poller = MeterPoller(bus, MeterConfig(profile=sdm630, slave_id=1))
    assert (await poller.poll()).channels["L1"].energy_wh == 1_234_560

    await modbus_server.stop()
    down = await poller.poll()
    assert not down.available
    assert all(
        value is None
        for channel in down.channels.values()
        for value in (channel.voltage, channel.power, channel.energy_wh, channel.relay)
    )
    assert not bus.connected

    await modbus_server.start()  # same port, same registers
    meter.set_channel("L1", sample(0, energy_wh=1_234_562))
    for _attempt in range(50):
        up = await poller.poll()
        if up.available:
            break
        await asyncio.sleep(0.02)
    assert up.channels["L1"].energy_wh == 1_234_562
    assert up.channels["L1"].voltage == pytest.approx(230.1)


async def test_rtu_over_tcp_gateway(socket_enabled: None, profiles: dict[str, Profile]) -> None:
    pzem = profiles["peacefair_pzem016"]
    async with SimulatedModbusServer([3], framer=FramerType.RTU) as server:
        SimulatedMeter(server, pzem, slave_id=3).set_channel("1", sample(0))
        bus = ModbusBus(gateway_for(server, transport=Transport.RTU_OVER_TCP))
        try:
            reading = await MeterPoller(bus, MeterConfig(profile=pzem, slave_id=3)).poll()
        finally:
            await bus.close()
    assert reading.channels["1"].energy_wh == 1_234_560
    assert reading.channels["1"].power == pytest.approx(712.4)


async def test_a_heat_meter_reads_exact_wh_and_allows_a_heat_plants_power(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    """The integer register comes back to the Wh; the spike filter's ceiling is the profile's
    200 kW (with the filter's overload margin, 320 kWh in an hour), not 1 A at 230 V: 150 kWh
    of heat in an hour is believed, 400 kWh is not."""
    heat = profiles["generic_heat_meter"]
    meter = SimulatedMeter(modbus_server, heat, slave_id=1)
    now = [0.0]
    poller = MeterPoller(bus, MeterConfig(profile=heat, slave_id=1), clock=lambda: now[0])

    meter.set_channel("1", ChannelValues(energy_wh=4_000_000_001, power=45_000))
    reading = (await poller.poll()).channels["1"]
    assert (reading.energy_wh, reading.power) == (4_000_000_001, 45_000)

    now[0] += 3600
    meter.set_channel("1", ChannelValues(energy_wh=4_000_150_001))
    assert (await poller.poll()).channels["1"].energy_wh == 4_000_150_001

    now[0] += 3600
    meter.set_channel("1", ChannelValues(energy_wh=4_000_550_001))
    spike = (await poller.poll()).channels["1"]
    assert spike.energy_rejected


class Clock:
    """The poller's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def multi_circuit_18(
    server: SimulatedModbusServer, bus: ModbusBus, profile: Profile, clock: Clock
) -> tuple[SimulatedMeter, MeterPoller]:
    meter = SimulatedMeter(server, profile, slave_id=1, channel_count=18)
    for index, channel_id in enumerate(meter.channels):
        meter.set_channel(channel_id, sample(index))
    config = MeterConfig(profile=profile, slave_id=1, channel_count=18, relay_refresh_s=300)
    return meter, MeterPoller(bus, config, clock=clock)


async def test_an_18_channel_meter_takes_two_requests_per_poll_between_relay_refreshes(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    """144 registers are 2 reads; the relay coils are read on the first poll and then once per
    ``relay_refresh_s``, so a 30 s scan interval averages 2.1 requests per poll."""
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    counts = []
    for _poll in range(21):
        before = modbus_server.requests
        reading = await poller.poll()
        counts.append(modbus_server.requests - before)
        assert reading.requests == counts[-1]
        assert reading.failed_requests == 0
        assert all(channel.relay is True for channel in reading.channels.values())
        assert reading.channels["18"].energy_wh == 1_234_560 + 10_000 * 17
        clock.now += 30
    assert counts == [3] + [2] * 9 + [3] + [2] * 9 + [3]
    assert meter.relay("1") is True


async def test_external_relay_changes_show_within_the_relay_refresh_interval(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    assert (await poller.poll()).channels["7"].relay is True

    meter.set_channel("7", replace(sample(6), relay=False))  # tripped at the meter itself
    clock.now = 299
    stale = await poller.poll()
    assert (stale.requests, stale.channels["7"].relay) == (2, True)
    assert stale.channels["7"].current == 0.0  # the registers are read every poll
    clock.now = 300
    fresh = await poller.poll()
    assert (fresh.requests, fresh.channels["7"].relay) == (3, False)


async def test_a_relay_command_shows_at_once_and_the_next_poll_reads_it_back(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    await poller.poll()
    clock.now = 30
    assert (await poller.poll()).requests == 2

    await poller.set_relay("12", False)

    assert meter.relay("12") is False
    meter.set_channel("12", sample(11))  # the open relay stops the load (the meter reads 0)
    clock.now = 60
    after = await poller.poll()
    assert (after.requests, after.channels["12"].relay, after.channels["11"].relay) == (
        3,
        False,
        True,
    )
    clock.now = 90
    assert (await poller.poll()).requests == 2


async def test_a_relay_command_the_meter_does_not_confirm_is_read_back_next_poll(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    await poller.poll()
    modbus_server.refuse(1, ServerTable.COIL, 0, 18)  # writes too: no confirmation
    with pytest.raises(RelayWriteError):
        await poller.set_relay("3", False)
    modbus_server.allow_all(1)
    meter.set_channel("3", replace(sample(2), relay=False))  # it switched after all
    clock.now = 30
    reading = await poller.poll()
    assert (reading.requests, reading.channels["3"].relay) == (3, False)


async def test_a_failed_coil_read_makes_relays_unavailable_and_is_retried_every_poll(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    modbus_server.refuse(1, ServerTable.COIL, 0, 18)
    for _poll in range(2):
        reading = await poller.poll()
        assert (reading.requests, reading.failed_requests) == (3, 1)
        assert all(channel.relay is None for channel in reading.channels.values())
        assert reading.channels["1"].energy_wh == 1_234_560  # the registers still read
        clock.now += 30
    modbus_server.allow_all(1)
    meter.set_channel("2", replace(sample(1), relay=False))
    reading = await poller.poll()
    assert (reading.requests, reading.failed_requests) == (3, 0)
    assert (reading.channels["1"].relay, reading.channels["2"].relay) == (True, False)


async def test_a_failed_register_block_makes_only_its_channels_unavailable(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    """The second block (0x017D…) holds channel 16's energy and channels 17 and 18: those read
    None, never 0; the first block's channels and the cached relays stay."""
    clock = Clock()
    _meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    await poller.poll()
    modbus_server.refuse(1, ServerTable.HOLDING, 0x0100 + 125, 1)
    clock.now = 30
    reading = await poller.poll()
    assert (reading.requests, reading.failed_requests) == (2, 1)
    assert reading.available
    channels = reading.channels
    assert channels["15"].energy_wh == 1_234_560 + 10_000 * 14
    assert (channels["16"].voltage, channels["16"].energy_wh) == (pytest.approx(245.1), None)
    for channel_id in ("17", "18"):
        assert channels[channel_id].energy_wh is None
        assert channels[channel_id].power is None
    assert channels["18"].relay is True


async def test_after_an_outage_relays_are_unknown_until_read_again(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    await poller.poll()
    await modbus_server.stop()
    clock.now = 30
    down = await poller.poll()
    assert not down.available
    assert all(channel.relay is None for channel in down.channels.values())

    meter.set_channel("9", replace(sample(8), relay=False))  # switched while we could not see
    await modbus_server.start()
    for _attempt in range(50):
        clock.now += 30
        up = await poller.poll()
        if up.available:
            break
        await asyncio.sleep(0.02)
    assert (up.requests, up.channels["9"].relay, up.channels["8"].relay) == (3, False, True)


async def test_a_command_during_a_relay_refresh_is_not_undone_by_it(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    """A poll reading the relays while a command waits for the bus must not keep the state
    from before the command for a whole refresh interval: the next poll reads them back."""
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    await poller.poll()
    clock.now = 300  # the relays are due: this poll reads them while the command waits
    await asyncio.gather(poller.poll(), poller.set_relay("4", False))
    assert meter.relay("4") is False
    meter.set_channel("4", sample(3))  # the open relay stops the load (the meter reads 0)

    clock.now = 330
    after = await poller.poll()
    assert (after.requests, after.channels["4"].relay) == (3, False)
    clock.now = 360
    assert (await poller.poll()).requests == 2


async def cut_relay_7(meter: SimulatedMeter, poller: MeterPoller, clock: Clock) -> None:
    """Poll, cut channel 7 and read it back; the relays are next due at 330 s."""
    await poller.poll()
    await poller.set_relay("7", False)
    meter.set_channel("7", sample(6))  # the open relay stops the load (the meter reads 0)
    clock.now = 30
    assert (await poller.poll()).channels["7"].relay is False
    clock.now = 60
    assert (await poller.poll()).requests == 2  # off, no load, no energy: nothing to re-read


async def test_a_cut_relay_switched_back_on_at_the_meter_shows_on_the_next_poll(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    """Current through a relay believed off is evidence: the relays are read in that poll,
    not up to ``relay_refresh_s`` later (a tenant in arrears pressing the meter's button)."""
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    await cut_relay_7(meter, poller, clock)

    meter.set_channel("7", replace(sample(6), current=5.0, relay=True))
    clock.now = 90
    reading = await poller.poll()
    assert (reading.requests, reading.channels["7"].relay) == (3, True)
    assert reading.channels["7"].current == pytest.approx(5.0)
    clock.now = 120
    assert (await poller.poll()).requests == 2  # known on again: back to the refresh interval


@pytest.mark.parametrize(
    "energy_wh",
    [1_234_560 + 60_000 + 10, 7],  # went up with no current seen; reset (the meter rebooted)
    ids=["energy-rose", "counter-reset"],
)
async def test_energy_moving_behind_a_cut_relay_reads_the_relays_at_once(
    modbus_server: SimulatedModbusServer,
    bus: ModbusBus,
    profiles: dict[str, Profile],
    energy_wh: int,
) -> None:
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    await cut_relay_7(meter, poller, clock)

    meter.set_channel("7", ChannelValues(energy_wh=energy_wh, current=0.0, power=0.0, relay=True))
    clock.now = 90
    reading = await poller.poll()
    assert (reading.requests, reading.channels["7"].relay) == (3, True)


async def test_load_on_a_relay_known_on_reads_no_relays_between_refreshes(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    await poller.poll()
    meter.set_channel("7", replace(sample(6), energy_wh=1_234_560 + 60_000 + 500))
    clock.now = 30
    assert (await poller.poll()).requests == 2


async def test_a_meter_reset_reads_relays_known_on_at_once(
    modbus_server: SimulatedModbusServer, bus: ModbusBus, profiles: dict[str, Profile]
) -> None:
    """A counter that went back is a meter reset or reboot, which may have opened a relay."""
    clock = Clock()
    meter, poller = multi_circuit_18(modbus_server, bus, profiles["generic_multi_circuit"], clock)
    assert (await poller.poll()).channels["7"].relay is True
    meter.set_channel("7", ChannelValues(energy_wh=3, current=0.0, power=0.0, relay=False))
    clock.now = 30
    reading = await poller.poll()
    assert (reading.requests, reading.channels["7"].relay) == (3, False)
    assert reading.channels["7"].counter_reset
