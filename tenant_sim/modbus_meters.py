"""Simulated Modbus meters: each built-in profile's channels written into a real server.

Values are encoded with the integration's own ``codec.encode``, the exact inverse of the
decoder, so what a test writes in physical units is what the poller must read back. Relay
commands from clients land in the server's coils/registers; a channel whose relay a client
switched off reports no current and no power on its next update, like a disconnected load.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from custom_components.tenant_metering.sources.modbus.core.codec import encode
from custom_components.tenant_metering.sources.modbus.core.profile import (
    ChannelSpec,
    Profile,
    Quantity,
    RelaySpec,
    Table,
)
from tenant_sim.modbus_server import SimulatedModbusServer, Table as ServerTable

_SERVER_TABLE = {
    Table.HOLDING: ServerTable.HOLDING,
    Table.INPUT: ServerTable.INPUT,
    Table.COIL: ServerTable.COIL,
}
_LOAD_QUANTITIES = (Quantity.CURRENT, Quantity.POWER)


@dataclass(frozen=True, kw_only=True)
class ChannelValues:
    """Physical values of one channel; None leaves that register as it is."""

    energy_wh: int
    voltage: float | None = None
    current: float | None = None
    power: float | None = None
    power_factor: float | None = None
    frequency: float | None = None
    relay: bool | None = None

    def physical(self, quantity: Quantity) -> Decimal | float | None:
        """The value to encode for ``quantity`` (energy in Wh, exactly)."""
        if quantity is Quantity.ENERGY:
            return Decimal(self.energy_wh)
        value: float | None = getattr(self, quantity.value)
        return value


class SimulatedMeter:
    """One meter of ``profile`` at ``slave_id`` on a simulated server."""

    def __init__(
        self,
        server: SimulatedModbusServer,
        profile: Profile,
        *,
        slave_id: int,
        channel_count: int | None = None,
    ) -> None:
        self.server = server
        self.profile = profile
        self.slave_id = slave_id
        self.channels = {c.channel_id: c for c in profile.expand(channel_count)}
        for channel in self.channels.values():
            if channel.relay is not None:
                self._write_relay(channel.relay, True)  # meters ship with the supply on

    def set_channel(self, channel_id: str, values: ChannelValues) -> None:
        """Write a channel's values (and relay, if given) into the registers."""
        channel = self.channels[channel_id]
        if values.relay is not None and channel.relay is not None:
            self._write_relay(channel.relay, values.relay)
        load_off = self.relay(channel_id) is False
        for spec in channel.values:
            physical = values.physical(spec.quantity)
            if physical is None:
                continue
            if load_off and spec.quantity in _LOAD_QUANTITIES:
                physical = 0.0
            self._write(spec.table, spec.address, encode(spec, physical))

    def write_words(self, channel_id: str, quantity: Quantity, words: Sequence[int]) -> None:
        """Put raw registers where ``quantity`` lives (garbage, NaN, out-of-range values)."""
        spec = self.channels[channel_id].value(quantity)
        if spec is None:
            raise KeyError(f"{self.profile.profile_id} channel {channel_id} has no {quantity}")
        self._write(spec.table, spec.address, words)

    def relay(self, channel_id: str) -> bool | None:
        """The relay as last written by anyone; None without a relay or with another value."""
        relay = self.channels[channel_id].relay
        if relay is None:
            return None
        (state,) = self.server.read(self.slave_id, _SERVER_TABLE[relay.table], relay.address, 1)
        return {relay.on_value: True, relay.off_value: False}.get(state)

    def channel(self, channel_id: str) -> ChannelSpec:
        """The channel's register map."""
        return self.channels[channel_id]

    def _write_relay(self, relay: RelaySpec, on: bool) -> None:
        self._write(relay.table, relay.address, [relay.on_value if on else relay.off_value])

    def _write(self, table: Table, address: int, words: Sequence[int]) -> None:
        self.server.write(self.slave_id, _SERVER_TABLE[table], address, words)
