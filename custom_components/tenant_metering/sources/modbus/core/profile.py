"""What a meter profile says: register maps as plain data, no I/O and no Home Assistant.

A profile describes one meter model. Channels are either listed one by one (a three-phase
meter's L1/L2/L3/total) or generated from a template with a per-table address stride (an
N-channel multi-circuit meter). A meter with one channel per slave (PZEM-016 on an RS-485
bus) is simply a one-channel profile added once per slave id.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from ....resources import Resource


class Table(StrEnum):
    """Modbus data tables a profile can address."""

    HOLDING = "holding"
    INPUT = "input"
    COIL = "coil"


class DataType(StrEnum):
    """Register encodings; 32-bit types span two registers."""

    U16 = "u16"
    I16 = "i16"
    U32 = "u32"
    I32 = "i32"
    F32 = "f32"

    @property
    def words(self) -> int:
        """Registers one value occupies."""
        return 1 if self in (DataType.U16, DataType.I16) else 2


class WordOrder(StrEnum):
    """Which register of a 32-bit value comes first (bytes within a register are big-endian)."""

    HIGH_FIRST = "high_first"
    LOW_FIRST = "low_first"


class Quantity(StrEnum):
    """What a channel measures; every value leaves the decoder in the canonical unit."""

    VOLTAGE = "voltage"
    CURRENT = "current"
    POWER = "power"
    POWER_FACTOR = "power_factor"
    FREQUENCY = "frequency"
    ENERGY = "energy"


# Units a profile may declare per quantity, with the factor to the canonical (first) unit.
UNIT_FACTORS: Mapping[Quantity, Mapping[str, Decimal]] = MappingProxyType(
    {
        Quantity.VOLTAGE: {"V": Decimal(1)},
        Quantity.CURRENT: {"A": Decimal(1), "mA": Decimal("0.001")},
        Quantity.POWER: {"W": Decimal(1), "kW": Decimal(1000)},
        Quantity.POWER_FACTOR: {"": Decimal(1), "%": Decimal("0.01")},
        Quantity.FREQUENCY: {"Hz": Decimal(1)},
        Quantity.ENERGY: {"Wh": Decimal(1), "kWh": Decimal(1000)},
    }
)

# Physically plausible bounds in canonical units: a decoded value outside them is a bad read
# (a meter booting, a half-written register), reported as unavailable rather than believed.
PLAUSIBLE_RANGE: Mapping[Quantity, tuple[Decimal, Decimal]] = MappingProxyType(
    {
        Quantity.VOLTAGE: (Decimal(0), Decimal(1000)),
        Quantity.CURRENT: (Decimal(-10000), Decimal(10000)),
        Quantity.POWER: (Decimal(-10_000_000), Decimal(10_000_000)),
        Quantity.POWER_FACTOR: (Decimal(-1), Decimal(1)),
        Quantity.FREQUENCY: (Decimal(0), Decimal(100)),
        Quantity.ENERGY: (Decimal(0), Decimal(10) ** 13),
    }
)


@dataclass(frozen=True, kw_only=True)
class ValueSpec:
    """Where one quantity lives and how its registers turn into a canonical number."""

    quantity: Quantity
    table: Table
    address: int
    data_type: DataType
    word_order: WordOrder = WordOrder.HIGH_FIRST
    scale: Decimal = Decimal(1)
    unit: str

    @property
    def count(self) -> int:
        """Registers this value occupies."""
        return self.data_type.words

    @property
    def factor(self) -> Decimal:
        """Raw register number * factor = value in the canonical unit."""
        return self.scale * UNIT_FACTORS[self.quantity][self.unit]

    def shifted(self, offset: int) -> "ValueSpec":
        """The same value ``offset`` registers further on (the next channel of a template)."""
        return replace(self, address=self.address + offset)


@dataclass(frozen=True, kw_only=True)
class RelaySpec:
    """A relay switched by a coil or a holding register, with the values meaning on and off."""

    table: Table
    address: int
    on_value: int = 1
    off_value: int = 0

    def shifted(self, offset: int) -> "RelaySpec":
        """The same relay ``offset`` addresses further on."""
        return replace(self, address=self.address + offset)


@dataclass(frozen=True, kw_only=True)
class ChannelSpec:
    """One metering point of a meter, with absolute addresses."""

    channel_id: str
    phases: int = 1
    values: tuple[ValueSpec, ...]
    relay: RelaySpec | None = None

    def value(self, quantity: Quantity) -> ValueSpec | None:
        """The spec measuring ``quantity`` on this channel, if the meter has one."""
        return next((spec for spec in self.values if spec.quantity is quantity), None)


@dataclass(frozen=True, kw_only=True)
class ChannelTemplate:
    """Channel 1's map; channel n sits ``(n - 1) * stride[table]`` addresses further on."""

    counts: tuple[int, ...]
    stride: Mapping[Table, int] = field(default_factory=dict)
    phases: int = 1
    values: tuple[ValueSpec, ...]
    relay: RelaySpec | None = None

    def expand(self, count: int) -> tuple[ChannelSpec, ...]:
        """Channels ``"1"`` … ``str(count)`` with their absolute addresses."""
        return tuple(
            ChannelSpec(
                channel_id=str(index + 1),
                phases=self.phases,
                values=tuple(v.shifted(index * self.stride.get(v.table, 0)) for v in self.values),
                relay=(
                    self.relay.shifted(index * self.stride.get(self.relay.table, 0))
                    if self.relay
                    else None
                ),
            )
            for index in range(count)
        )


@dataclass(frozen=True, kw_only=True)
class SerialDefaults:
    """The line settings the meter ships with, offered by the config flow."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1


@dataclass(frozen=True, kw_only=True)
class Profile:
    """A meter model's register map, loaded from a data file."""

    profile_id: str
    name: str
    manufacturer: str
    model: str
    source: str
    rated_current_a: float
    resource: Resource = Resource.ELECTRICITY
    """What the energy register meters: electricity, or heat for a heat meter (both Wh)."""
    max_power_w: Decimal | None = None
    """The spike filter's ceiling per channel where current times voltage says nothing (a
    heat meter's thermal power); else rated current * nominal voltage * phases."""
    default_slave_id: int = 1
    serial: SerialDefaults = SerialDefaults()
    max_gap: int
    channels: tuple[ChannelSpec, ...] = ()
    template: ChannelTemplate | None = None
    file: Path | None = None

    @property
    def channel_counts(self) -> tuple[int, ...]:
        """The channel counts a meter of this profile can be configured with."""
        return self.template.counts if self.template else (len(self.channels),)

    @property
    def has_relay(self) -> bool:
        """Whether the profile's channels can be switched."""
        return any(channel.relay for channel in self.expand())

    def expand(self, count: int | None = None) -> tuple[ChannelSpec, ...]:
        """The channels of a meter with ``count`` channels (default: the largest variant)."""
        if self.template is None:
            return self.channels
        chosen = max(self.template.counts) if count is None else count
        if chosen not in self.template.counts:
            raise ValueError(f"{self.profile_id} has no {chosen}-channel variant")
        return self.template.expand(chosen)
