"""A Modbus gateway config entry: one bus, its meters (config subentries), one coordinator.

The coordinator polls the gateway's meters in turn on the entry's scan interval (the bus
serialises requests and backs off a dead connection itself). Each poll's energy registers go
to the ledger exactly like MQTT breakers' (readings.py), as ``modbus:{gateway_uid}:…`` points.
A meter that does not answer makes only its entities unavailable; a bus that is down makes
the whole poll fail (``UpdateFailed``). Failed or implausible values are None, never zero.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
import logging
from typing import Any, Self

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from ...compat import via_device
from ...const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_CHANNEL_COUNT,
    CONF_CHANNELS,
    CONF_PARITY,
    CONF_PROFILE,
    CONF_RATED_CURRENT,
    CONF_ROLE,
    CONF_SERIAL_PORT,
    CONF_SLAVE_ID,
    CONF_STOPBITS,
    CONF_TRANSPORT,
    DEFAULT_RATED_CURRENT_A,
    DOMAIN,
    ROLE_COMMON,
    ROLE_INCOMER,
    ROLE_TENANT,
    SUBENTRY_METER,
    RelayState,
)
from ...energy import EnergyDevice, channel_energy_sensors
from ...identifiers import (
    KEY_ENERGY,
    channel_device_id,
    channel_device_info,
    channel_unique_id,
    device_identifier,
    modbus_device_id,
    modbus_point_id,
)
from ...readings import PointReading, ReadingPublisher
from ...resources import Resource
from .coordinator import ModbusCoordinator
from .core import (
    ChannelReading,
    GatewayConfig,
    MeterConfig,
    MeterPoller,
    MeterReading,
    ModbusBus,
    Profile,
    ProfileCatalog,
    RelayWriteError,
    Transport,
)
from .entities import channel_entities
from .profiles import async_load_catalog

_LOGGER = logging.getLogger(__name__)

ROLE_MODELS = {ROLE_TENANT: "Meter channel", ROLE_INCOMER: "Incomer", ROLE_COMMON: "Common area"}


def gateway_config(data: Mapping[str, Any]) -> GatewayConfig:
    """The bus settings stored in a gateway entry's data."""
    transport = Transport(data[CONF_TRANSPORT])
    if transport is Transport.SERIAL:
        return GatewayConfig(
            transport=transport,
            serial_port=data[CONF_SERIAL_PORT],
            baudrate=int(data[CONF_BAUDRATE]),
            bytesize=int(data[CONF_BYTESIZE]),
            parity=data[CONF_PARITY],
            stopbits=int(data[CONF_STOPBITS]),
        )
    return GatewayConfig(transport=transport, host=data[CONF_HOST], port=int(data[CONF_PORT]))


@dataclass(frozen=True, kw_only=True)
class ChannelSetup:
    """How the installer set up one channel of a meter (the meter subentry's data)."""

    channel_id: str
    name: str
    role: str = ROLE_TENANT
    rated_current_a: float = DEFAULT_RATED_CURRENT_A


def default_rated_current(profile: Profile, role: str) -> float:
    """A room circuit's breaker (32 A, or less if the meter is smaller); the incomer's is the
    meter's own rating, so the building's total is not rejected as a spike."""
    if role == ROLE_INCOMER:
        return profile.rated_current_a
    return min(DEFAULT_RATED_CURRENT_A, profile.rated_current_a)


def channel_setups(
    profile: Profile, data: Mapping[str, Any], meter_name: str
) -> tuple[ChannelSetup, ...]:
    """Every channel of the meter, with the subentry's settings or the defaults."""
    stored: Mapping[str, Mapping[str, Any]] = data.get(CONF_CHANNELS, {})
    setups = []
    for spec in profile.expand(data.get(CONF_CHANNEL_COUNT)):
        channel = stored.get(spec.channel_id, {})
        role = channel.get(CONF_ROLE, ROLE_TENANT)
        rated = channel.get(CONF_RATED_CURRENT) or default_rated_current(profile, role)
        setups.append(
            ChannelSetup(
                channel_id=spec.channel_id,
                name=channel.get(CONF_NAME) or f"{meter_name} {spec.channel_id}",
                role=role,
                rated_current_a=float(rated),
            )
        )
    return tuple(setups)


@dataclass(frozen=True, kw_only=True)
class ModbusMeter:
    """One meter subentry, resolved to its profile and poller."""

    subentry_id: str
    name: str
    gateway_uid: str
    profile: Profile
    slave_id: int
    channels: tuple[ChannelSetup, ...]
    poller: MeterPoller

    @property
    def device_id(self) -> str:
        return modbus_device_id(self.gateway_uid, self.slave_id)

    def channel(self, channel_id: str) -> ChannelSetup:
        return next(c for c in self.channels if c.channel_id == channel_id)

    def point(self, channel_id: str) -> str:
        return modbus_point_id(self.gateway_uid, self.slave_id, channel_id)


class ModbusGateway:
    """Runtime of a ``modbus_gateway`` config entry (a ``SourceRuntime``)."""

    platforms: tuple[Platform, ...] = (Platform.SENSOR, Platform.SWITCH)

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], catalog: ProfileCatalog
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.uid = str(entry.unique_id)
        self.bus = ModbusBus(gateway_config(entry.data))
        self.meters: dict[str, ModbusMeter] = {}
        for subentry in entry.subentries.values():
            if subentry.subentry_type == SUBENTRY_METER:
                self._add_meter(subentry, catalog)
        self.publisher = ReadingPublisher(hass, entry)
        self.counter_resets: dict[str, int] = {}
        self.coordinator = ModbusCoordinator(hass, entry, self)

    @classmethod
    async def async_create(cls, hass: HomeAssistant, entry: ConfigEntry[Any]) -> Self:
        return cls(hass, entry, await async_load_catalog(hass))

    def _add_meter(self, subentry: ConfigSubentry, catalog: ProfileCatalog) -> None:
        data = subentry.data
        profile = catalog.profiles.get(data[CONF_PROFILE])
        if profile is None:
            _LOGGER.error(
                "Meter %s uses Modbus profile %s, which is not available; see the repair "
                "issues for profile files that could not be loaded",
                subentry.title,
                data[CONF_PROFILE],
            )
            return
        channels = channel_setups(profile, data, subentry.title)
        slave_id = int(data[CONF_SLAVE_ID])
        self.meters[subentry.subentry_id] = ModbusMeter(
            subentry_id=subentry.subentry_id,
            name=subentry.title,
            gateway_uid=self.uid,
            profile=profile,
            slave_id=slave_id,
            channels=channels,
            poller=MeterPoller(
                self.bus,
                MeterConfig(
                    profile=profile,
                    slave_id=slave_id,
                    channel_count=data.get(CONF_CHANNEL_COUNT),
                    rated_current_a={c.channel_id: c.rated_current_a for c in channels},
                ),
            ),
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def async_prepare(self) -> None:
        """Register the devices and poll once (raises ConfigEntryNotReady if the bus is down):
        the platforms add the meters' entities with a first reading, not zeros."""
        registry = dr.async_get(self.hass)
        registry.async_get_or_create(config_entry_id=self.entry.entry_id, **self.device_info)
        for meter in self.meters.values():
            registry.async_get_or_create(
                config_entry_id=self.entry.entry_id,
                config_subentry_id=meter.subentry_id,
                **self.meter_device_info(meter),
            )
        await self.coordinator.async_config_entry_first_refresh()
        # Options, meters (subentries, which no reload helper covers) and the connection
        # change through this listener alone: the gateway's flows only update the entry.
        # Combining it with a flow reload helper (async_update_reload_and_abort,
        # OptionsFlowWithReload, unique-id updates) is an error from HA 2026.12.
        self.entry.async_on_unload(self.entry.add_update_listener(_async_reload))

    async def async_start(self) -> None:
        """Nothing more: the coordinator polls on its own."""

    async def async_stop(self) -> None:
        await self.bus.close()

    # -- readings --------------------------------------------------------------------------

    def publish(self, readings: Mapping[str, MeterReading]) -> None:
        """Send every believable energy register of this poll to the ledger."""
        points: list[PointReading] = []
        for sub_id, reading in readings.items():
            meter = self.meters[sub_id]
            for channel in reading.channels.values():
                if channel.energy_wh is None or channel.energy_rejected:
                    continue
                point = meter.point(channel.channel_id)
                if channel.counter_reset:
                    # Still published: the ledger sees the drop and starts a new baseline.
                    self.counter_resets[point] = self.counter_resets.get(point, 0) + 1
                    _LOGGER.warning(
                        "Energy counter of %s (%s) was reset or replaced; the ledger starts a "
                        "new baseline at %s Wh",
                        meter.channel(channel.channel_id).name,
                        point,
                        channel.energy_wh,
                    )
                points.append(
                    PointReading(
                        point=point,
                        ts=int(reading.ts),
                        resource=meter.profile.resource,
                        register=channel.energy_wh,
                    )
                )
        self.publisher.publish_points(points)

    def channel_reading(self, subentry_id: str, channel_id: str) -> ChannelReading | None:
        """The channel's last reading, None while its meter does not answer."""
        reading = (self.coordinator.data or {}).get(subentry_id)
        if reading is None or not reading.available:
            return None
        return reading.channels.get(channel_id)

    async def async_set_relay(self, meter: ModbusMeter, channel_id: str, relay: RelayState) -> None:
        """Switch a channel's relay; shown once the meter confirmed the write, then re-read."""
        try:
            await meter.poller.set_relay(channel_id, relay == "on")
        except RelayWriteError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_rejected",
                translation_placeholders={
                    "name": meter.name,
                    "channel": meter.channel(channel_id).name,
                    "relay": relay,
                    "error": str(err),
                },
            ) from err
        data = self.coordinator.data
        if (reading := data.get(meter.subentry_id)) is not None and (
            channel := reading.channels.get(channel_id)
        ) is not None:
            channels = {**reading.channels, channel_id: replace(channel, relay=relay == "on")}
            data[meter.subentry_id] = replace(reading, channels=channels)
            self.coordinator.async_update_listeners()
        # Debounced: a tenant's supply switch fanning out to many relays polls once.
        await self.coordinator.async_request_refresh()

    # -- devices ---------------------------------------------------------------------------

    @property
    def device_info(self) -> DeviceInfo:
        config = self.bus.config
        return DeviceInfo(
            identifiers={device_identifier(self.uid)},
            name=self.entry.title,
            manufacturer="Modbus",
            model="RTU (serial)" if config.transport is Transport.SERIAL else str(config.transport),
        )

    def meter_device_info(self, meter: ModbusMeter) -> DeviceInfo:
        return DeviceInfo(
            identifiers={device_identifier(meter.device_id)},
            name=meter.name,
            manufacturer=meter.profile.manufacturer,
            model=meter.profile.model,
            serial_number=f"slave {meter.slave_id}",
        ) | via_device(self.hass, self.entry.entry_id, device_identifier(self.uid))

    def channel_device_info(self, meter: ModbusMeter, channel_id: str) -> DeviceInfo:
        channel = meter.channel(channel_id)
        return channel_device_info(
            meter.device_id,
            channel_id,
            name=channel.name,
            manufacturer=meter.profile.manufacturer,
            model=ROLE_MODELS.get(channel.role, ROLE_MODELS[ROLE_TENANT]),
        ) | via_device(self.hass, self.entry.entry_id, device_identifier(meter.device_id))

    def known_device_identifiers(self) -> set[str]:
        """Identifiers of every device this gateway still owns."""
        known = {self.uid}
        for meter in self.meters.values():
            known.add(meter.device_id)
            known.update(channel_device_id(meter.device_id, c.channel_id) for c in meter.channels)
        return known

    def diagnostics(self) -> dict[str, Any]:
        """What the gateway knows, for the diagnostics download."""
        return {"gateway": self._gateway_diagnostics()}

    def _gateway_diagnostics(self) -> dict[str, Any]:
        data = self.coordinator.data or {}
        return {
            "bus": {
                "transport": str(self.bus.config.transport),
                "connected": self.bus.connected,
                "requests": self.bus.requests,
            },
            "last_update_success": self.coordinator.last_update_success,
            "counter_resets": self.counter_resets,
            "meters": {
                meter.name: {
                    "profile": meter.profile.profile_id,
                    "slave_id": meter.slave_id,
                    "blocks": len(meter.poller.blocks),
                    "channels": [asdict(channel) for channel in meter.channels],
                    "last_reading": (
                        None
                        if (reading := data.get(sub_id)) is None
                        else {
                            "available": reading.available,
                            "requests": reading.requests,
                            "failed_requests": reading.failed_requests,
                            "channels": {
                                cid: asdict(channel) for cid, channel in reading.channels.items()
                            },
                        }
                    ),
                }
                for sub_id, meter in self.meters.items()
            },
        }

    def async_add_platform_entities(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add each meter's entities with the meter's config subentry."""
        for meter in self.meters.values():
            entities = [
                entity
                for channel in meter.poller.channels
                for entity in channel_entities(self, meter, channel, platform)
            ]
            async_add_entities(entities, config_subentry_id=meter.subentry_id)

    def energy_devices(self) -> list[EnergyDevice]:
        """The incomer's energy sensor first: the upstream of this gateway's other channels
        only (other sources may be fed from elsewhere). A heat meter's channels say so."""
        resources = {
            channel_unique_id(
                meter.device_id, channel.channel_id, KEY_ENERGY
            ): meter.profile.resource
            for meter in self.meters.values()
            for channel in meter.channels
        }
        incomer_ids = {
            channel_unique_id(meter.device_id, channel.channel_id, KEY_ENERGY)
            for meter in self.meters.values()
            for channel in meter.channels
            if channel.role == ROLE_INCOMER
        }
        energy = channel_energy_sensors(self.hass, self.entry.entry_id)
        incomer = next(
            (entity.entity_id for entity in energy if entity.unique_id in incomer_ids), None
        )
        others = [
            EnergyDevice(
                stat_consumption=entity.entity_id,
                upstream=incomer,
                resource=resources.get(entity.unique_id, Resource.ELECTRICITY),
            )
            for entity in energy
            if entity.entity_id != incomer
        ]
        if incomer is None:
            return others
        return [EnergyDevice(stat_consumption=incomer, incomer=True), *others]


async def _async_reload(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Options, meters (subentries) or connection changed: set the gateway up again."""
    await hass.config_entries.async_reload(entry.entry_id)
