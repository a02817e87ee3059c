"""Past readings: the building's registers over a stretch of time, as hourly readings.

The live demo back-fills the month so far through the REST API, so balances, statuses and
period costs are already interesting when it starts; the simulated month sends a whole month
over MQTT. Both take their readings from here.
"""

from collections.abc import Iterator

from tenant_sim.registers import BuildingRegisters, Reading

HOUR = 3600


def hourly_readings(
    registers: BuildingRegisters, until_ts: int, every_s: int = HOUR
) -> Iterator[list[Reading]]:
    """Every point's reading (circuits, water counters, heat meter) now (the registers' time:
    a move-in needs a first reading), at each ``every_s`` boundary, and at ``until_ts`` (so
    the last batch reaches it exactly)."""
    yield registers.all_readings()
    while registers.ts < until_ts:
        next_ts = min(until_ts, (registers.ts // every_s + 1) * every_s)
        registers.advance(next_ts)
        yield registers.all_readings()
