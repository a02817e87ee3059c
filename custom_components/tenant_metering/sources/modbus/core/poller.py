"""Polling one meter: planned block reads in, per-channel readings out.

What leaves here is what the entities and the ledger need: floats for instantaneous values,
**integer Wh** for the energy register (never a float), None for anything that could not be
read or was not believable — never zero in place of a failed read.

Relay states change only when someone switches them, so a block holding nothing but relay
coils or registers is not read every poll: on the first poll, right after every command
(the write's confirmation shows at once, the next poll reads it back) and then once per
``relay_refresh_s``, which bounds how late a relay switched at the meter itself shows. The
values read every poll are evidence, though: a channel whose relay is off or unknown showing
current or power above noise or an energy counter going up, and any channel whose energy
counter went back (a reset, a meter that rebooted and may have switched its relays), has its
relays read in that same poll: a cut supply switched back on at the meter shows on the next
poll. A relay read that fails, or
a meter that does not answer at all, makes the relay unknown (None) and re-read on the next
poll; a relay state from before an outage is never shown.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
import logging
import time

from .bus import ModbusBus
from .codec import decode, resolution
from .energy import EnergyGuard, EnergyVerdict
from .planner import ReadBlock, plan_blocks
from .profile import ChannelSpec, Profile, Quantity, RelaySpec, Table, ValueSpec

_LOGGER = logging.getLogger(__name__)

DEFAULT_NOMINAL_VOLTAGE_V = 230.0
DEFAULT_RELAY_REFRESH_S = 300.0
# What an open relay may still show: meters read a few mA or W of noise with no load, and a
# reading above that through a relay believed off means it is not off.
LOAD_NOISE_CURRENT_A = Decimal("0.05")
LOAD_NOISE_POWER_W = Decimal(5)


class RelayWriteError(Exception):
    """The meter did not confirm a relay command."""


@dataclass(frozen=True, kw_only=True)
class MeterConfig:
    """One meter on a bus; the meter config subentry's data, resolved to its profile."""

    profile: Profile
    slave_id: int
    channel_count: int | None = None
    rated_current_a: Mapping[str, float] = field(default_factory=dict)
    nominal_voltage_v: float = DEFAULT_NOMINAL_VOLTAGE_V
    relay_refresh_s: float = DEFAULT_RELAY_REFRESH_S
    """The longest a relay switched at the meter (not by us) stays unseen."""


@dataclass(frozen=True, kw_only=True)
class ChannelReading:
    """One channel at one poll; None means unavailable."""

    channel_id: str
    voltage: float | None = None
    current: float | None = None
    power: float | None = None
    power_factor: float | None = None
    frequency: float | None = None
    energy_wh: int | None = None
    relay: bool | None = None
    counter_reset: bool = False
    energy_rejected: bool = False

    @property
    def energy_kwh(self) -> Decimal | None:
        """The energy register in kWh, exactly (for the energy sensor)."""
        return None if self.energy_wh is None else Decimal(self.energy_wh) / 1000


@dataclass(frozen=True, kw_only=True)
class MeterReading:
    """A whole meter at one poll."""

    slave_id: int
    ts: float
    channels: Mapping[str, ChannelReading]
    requests: int
    failed_requests: int

    @property
    def available(self) -> bool:
        """Whether the meter answered at all."""
        return self.failed_requests < self.requests


class MeterPoller:
    """Reads one meter in planned blocks and judges its energy counters between polls."""

    def __init__(
        self,
        bus: ModbusBus,
        config: MeterConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._bus = bus
        self.config = config
        self._clock = clock
        self._wall_clock = wall_clock
        profile = config.profile
        self.channels: tuple[ChannelSpec, ...] = profile.expand(config.channel_count)
        value_spans = [
            _span(spec.table, spec.address, spec.count) for c in self.channels for spec in c.values
        ]
        relay_spans = [_span(c.relay.table, c.relay.address, 1) for c in self.channels if c.relay]
        self.blocks: tuple[ReadBlock, ...] = plan_blocks(
            value_spans + relay_spans, max_gap=profile.max_gap
        )
        self.value_blocks = tuple(
            block for block in self.blocks if any(_within(span, block) for span in value_spans)
        )
        """Read every poll; the other blocks hold relays only."""
        self.relay_blocks = tuple(block for block in self.blocks if block not in self.value_blocks)
        self._cached_relay_channels = tuple(
            c
            for c in self.channels
            if c.relay
            and any(_within(_span(c.relay.table, c.relay.address, 1), b) for b in self.relay_blocks)
        )
        """The channels whose relay is not read every poll."""
        self._seen_energy: dict[str, Decimal] = {}
        """Each such channel's energy register at the last poll that read it."""
        self._relay_words: dict[tuple[Table, int], int] = {}
        """The relay blocks' words as last read (or confirmed written)."""
        self._relays_due_at = float("-inf")
        self._commands = 0
        self._guards = {
            channel.channel_id: EnergyGuard(
                name=f"{profile.profile_id} slave {config.slave_id} channel {channel.channel_id}",
                max_power_w=profile.max_power_w
                or Decimal(
                    str(config.rated_current_a.get(channel.channel_id, profile.rated_current_a))
                )
                * Decimal(str(config.nominal_voltage_v))
                * channel.phases,
            )
            for channel in self.channels
        }

    async def poll(self) -> MeterReading:
        """Read the value blocks (and the relay blocks when due) and decode all channels."""
        now = self._clock()
        commands = self._commands
        words, failed = await self._read(self.value_blocks)
        requests = len(self.value_blocks)
        if self._relays_in_doubt(words):
            self._relays_due_at = float("-inf")
        if self.relay_blocks and now >= self._relays_due_at:
            relay_words, relays_failed = await self._read(self.relay_blocks)
            requests += len(self.relay_blocks)
            failed += relays_failed
            # A command sent meanwhile may have switched after this read: read them again.
            if self._commands == commands:
                self._relay_words = relay_words
                if not relays_failed:
                    self._relays_due_at = now + self.config.relay_refresh_s
        if failed == requests:
            # The meter did not answer: its relays before say nothing about them now.
            self._relay_words = {}
            self._relays_due_at = float("-inf")
        words |= self._relay_words
        return MeterReading(
            slave_id=self.config.slave_id,
            ts=self._wall_clock(),
            channels={c.channel_id: self._channel(c, words, now) for c in self.channels},
            requests=requests,
            failed_requests=failed,
        )

    def _relays_in_doubt(self, words: Mapping[tuple[Table, int], int]) -> bool:
        """Whether this poll's values say a relay not read every poll may not be as stored
        (and remember each such channel's energy register for the next poll).

        An energy counter that went back (the meter was reset or rebooted, which may have
        switched its relays either way), or a channel whose relay is not known on that draws
        current or power or whose energy counter went up.
        """
        in_doubt = False
        for channel in self._cached_relay_channels:
            energy = self._decoded(channel.value(Quantity.ENERGY), words)
            seen = self._seen_energy.get(channel.channel_id)
            moved = Decimal(0) if energy is None or seen is None else energy - seen
            if energy is not None:
                self._seen_energy[channel.channel_id] = energy
            if moved < 0:
                in_doubt = True
            elif _relay_state(channel.relay, self._relay_words) is not True:
                current = self._decoded(channel.value(Quantity.CURRENT), words)
                power = self._decoded(channel.value(Quantity.POWER), words)
                in_doubt |= (
                    moved > 0
                    or (current is not None and abs(current) > LOAD_NOISE_CURRENT_A)
                    or (power is not None and abs(power) > LOAD_NOISE_POWER_W)
                )
        return in_doubt

    async def _read(
        self, blocks: tuple[ReadBlock, ...]
    ) -> tuple[dict[tuple[Table, int], int], int]:
        """The words of every block that answered, and how many did not."""
        words: dict[tuple[Table, int], int] = {}
        failed = 0
        for block in blocks:
            values = await self._bus.read(
                self.config.slave_id, block.table, block.address, block.count
            )
            if values is None:
                failed += 1
                continue
            words.update(((block.table, block.address + i), word) for i, word in enumerate(values))
        return words, failed

    async def set_relay(self, channel_id: str, on: bool) -> None:
        """Switch a channel's relay; raises RelayWriteError unless the meter confirms."""
        channel = next((c for c in self.channels if c.channel_id == channel_id), None)
        if channel is None or channel.relay is None:
            raise ValueError(
                f"channel {channel_id!r} of {self.config.profile.profile_id} has no relay"
            )
        relay = channel.relay
        value = relay.on_value if on else relay.off_value
        # Confirmed or not, the next poll reads the relays back (an unconfirmed write may
        # still have switched).
        self._commands += 1
        self._relays_due_at = float("-inf")
        if not await self._bus.write(self.config.slave_id, relay.table, relay.address, value):
            raise RelayWriteError(
                f"slave {self.config.slave_id} channel {channel_id}: no confirmation"
            )
        if (relay.table, relay.address) in self._relay_words:  # a known relay's new state
            self._relay_words[(relay.table, relay.address)] = value

    def _channel(
        self, channel: ChannelSpec, words: Mapping[tuple[Table, int], int], now: float
    ) -> ChannelReading:
        def instant(quantity: Quantity) -> float | None:
            value = self._decoded(channel.value(quantity), words)
            return None if value is None else float(value)

        verdict = EnergyVerdict(energy_wh=None)
        energy_spec = channel.value(Quantity.ENERGY)
        energy = self._decoded(energy_spec, words)
        if energy is not None and energy_spec is not None:
            verdict = self._guards[channel.channel_id].check(
                energy, step_wh=resolution(energy_spec, energy), now=now
            )
        return ChannelReading(
            channel_id=channel.channel_id,
            voltage=instant(Quantity.VOLTAGE),
            current=instant(Quantity.CURRENT),
            power=instant(Quantity.POWER),
            power_factor=instant(Quantity.POWER_FACTOR),
            frequency=instant(Quantity.FREQUENCY),
            energy_wh=verdict.energy_wh,
            relay=_relay_state(channel.relay, words),
            counter_reset=verdict.counter_reset,
            energy_rejected=verdict.rejected,
        )

    def _decoded(
        self, spec: ValueSpec | None, words: Mapping[tuple[Table, int], int]
    ) -> Decimal | None:
        if spec is None:
            return None
        registers = [words.get((spec.table, spec.address + i)) for i in range(spec.count)]
        if any(word is None for word in registers):
            return None
        value = decode(spec, [word for word in registers if word is not None])
        if value is None:
            _LOGGER.debug(
                "slave %s: implausible %s in %s@%s: %s",
                self.config.slave_id,
                spec.quantity,
                spec.table,
                spec.address,
                registers,
            )
        return value


def _span(table: Table, address: int, count: int) -> ReadBlock:
    return ReadBlock(table=table, address=address, count=count)


def _within(span: ReadBlock, block: ReadBlock) -> bool:
    return span.table is block.table and block.address <= span.address and span.end <= block.end


def _relay_state(relay: RelaySpec | None, words: Mapping[tuple[Table, int], int]) -> bool | None:
    """On/off from the relay's coil or register; None when unread or neither value."""
    if relay is None:
        return None
    state = words.get((relay.table, relay.address))
    if state == relay.on_value:
        return True
    if state == relay.off_value:
        return False
    return None
