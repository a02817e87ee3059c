"""The Modbus parts of the config flow: the gateway's connection forms and test, its options
(scan interval) and the meter subentry flow (profile, address, channels and their roles)."""

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import (
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT, CONF_SCAN_INTERVAL
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import voluptuous as vol

from ...const import (
    CHANNEL_ROLES,
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
    DEFAULT_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
    ROLE_COMMON,
    ROLE_INCOMER,
    ROLE_TENANT,
    SUBENTRY_METER,
)
from .core import ModbusBus, Profile, Transport
from .gateway import channel_setups, default_rated_current, gateway_config
from .profiles import async_load_catalog

_LOGGER = logging.getLogger(__name__)

# Meter subentry form fields that are not stored as such (channels are stored per channel).
CONF_NAMES = "names"
CONF_INCOMER = "incomer"
CONF_COMMON = "common_areas"
CONF_INCOMER_RATED_CURRENT = "incomer_rated_current_a"

BAUDRATES = ["1200", "2400", "4800", "9600", "19200", "38400", "57600", "115200"]


def _number(minimum: float, maximum: float, step: float = 1, unit: str | None = None) -> Any:
    config = NumberSelectorConfig(min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _select(options: list[str] | list[SelectOptionDict], *, multiple: bool = False) -> Any:
    return SelectSelector(
        SelectSelectorConfig(options=options, multiple=multiple, mode=SelectSelectorMode.DROPDOWN)
    )


def network_schema(transport: Transport, defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, "")): str,
            vol.Required(
                CONF_PORT,
                default=defaults.get(CONF_PORT, 502 if transport is Transport.TCP else 8899),
            ): _number(1, 65535),
        }
    )


def serial_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(
                CONF_SERIAL_PORT, default=defaults.get(CONF_SERIAL_PORT, "/dev/ttyUSB0")
            ): str,
            vol.Required(CONF_BAUDRATE, default=str(defaults.get(CONF_BAUDRATE, 9600))): _select(
                BAUDRATES
            ),
            vol.Required(CONF_BYTESIZE, default=str(defaults.get(CONF_BYTESIZE, 8))): _select(
                ["7", "8"]
            ),
            vol.Required(CONF_PARITY, default=defaults.get(CONF_PARITY, "N")): _select(
                ["N", "E", "O"]
            ),
            vol.Required(CONF_STOPBITS, default=str(defaults.get(CONF_STOPBITS, 1))): _select(
                ["1", "2"]
            ),
        }
    )


def connection_data(transport: Transport, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The gateway entry's connection data from the network or serial form."""
    if transport is Transport.SERIAL:
        return {
            CONF_TRANSPORT: transport.value,
            CONF_SERIAL_PORT: user_input[CONF_SERIAL_PORT].strip(),
            CONF_BAUDRATE: int(user_input[CONF_BAUDRATE]),
            CONF_BYTESIZE: int(user_input[CONF_BYTESIZE]),
            CONF_PARITY: user_input[CONF_PARITY],
            CONF_STOPBITS: int(user_input[CONF_STOPBITS]),
        }
    return {
        CONF_TRANSPORT: transport.value,
        CONF_HOST: user_input[CONF_HOST].strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
    }


def connection_key(data: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two gateways the same bus."""
    if data[CONF_TRANSPORT] == Transport.SERIAL:
        return {CONF_SERIAL_PORT: data[CONF_SERIAL_PORT]}
    return {CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}


async def async_test_connection(data: Mapping[str, Any]) -> str | None:
    """The form's error key, or None when the bus opens (the gateway's connection test)."""
    bus = ModbusBus(gateway_config(data))
    try:
        connected = await bus.connect()
    except RuntimeError as err:  # pymodbus without serial support (pyserial) installed
        _LOGGER.warning("Cannot open %s: %s", bus.config.label, err)
        connected = False
    finally:
        await bus.close()
    return None if connected else "cannot_connect"


class GatewayOptionsFlow(OptionsFlow):
    """How often a Modbus gateway polls its meters."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_create_entry(
                data={CONF_SCAN_INTERVAL: int(user_input[CONF_SCAN_INTERVAL])}
            )
        current = self.config_entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_SCAN_INTERVAL, default=current): _number(
                        MIN_SCAN_INTERVAL, 3600, unit="s"
                    )
                }
            ),
        )


class MeterSubentryFlow(ConfigSubentryFlow):
    """A meter on a Modbus gateway: profile, slave id, channel count and channel roles."""

    def __init__(self) -> None:
        self._profiles: dict[str, Profile] = {}
        self._data: dict[str, Any] = {}
        self._title = ""

    async def _load_profiles(self) -> dict[str, Profile]:
        if not self._profiles:
            self._profiles = dict((await async_load_catalog(self.hass)).profiles)
        return self._profiles

    @property
    def _profile(self) -> Profile:
        return self._profiles[self._data[CONF_PROFILE]]

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name, profile and slave id of the meter."""
        profiles = await self._load_profiles()
        errors: dict[str, str] = {}
        if user_input is not None:
            slave_id = int(user_input[CONF_SLAVE_ID])
            if any(
                int(sub.data[CONF_SLAVE_ID]) == slave_id
                for sub in self._get_entry().subentries.values()
                if sub.subentry_type == SUBENTRY_METER
            ):
                errors[CONF_SLAVE_ID] = "slave_in_use"
            else:
                self._title = user_input[CONF_NAME].strip()
                self._data = {CONF_PROFILE: user_input[CONF_PROFILE], CONF_SLAVE_ID: slave_id}
                if len(self._profile.channel_counts) > 1:
                    return await self.async_step_channel_count()
                return await self.async_step_channels()
        options = [
            SelectOptionDict(value=profile_id, label=profile.name)
            for profile_id, profile in sorted(profiles.items(), key=lambda item: item[1].name)
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): str,
                vol.Required(CONF_PROFILE): _select(options),
                vol.Required(CONF_SLAVE_ID, default=1): _number(1, 247),
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

    async def async_step_channel_count(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """How many channels this variant of the meter has."""
        if user_input is not None:
            self._data[CONF_CHANNEL_COUNT] = int(user_input[CONF_CHANNEL_COUNT])
            return await self.async_step_channels()
        counts = [str(count) for count in self._profile.channel_counts]
        return self.async_show_form(
            step_id="channel_count",
            data_schema=vol.Schema(
                {vol.Required(CONF_CHANNEL_COUNT, default=counts[-1]): _select(counts)}
            ),
            description_placeholders={CONF_PROFILE: self._profile.name},
        )

    async def async_step_channels(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Channel names, which channel is the incomer, which are common areas, ratings."""
        if user_input is not None:
            data = {**self._data, CONF_CHANNELS: self._channels_data(user_input)}
            if self.source == "reconfigure":
                return self.async_update_and_abort(
                    self._get_entry(),
                    self._get_reconfigure_subentry(),
                    title=self._title,
                    data=data,
                )
            return self.async_create_entry(
                title=self._title, data=data, unique_id=str(self._data[CONF_SLAVE_ID])
            )
        profile = self._profile
        setups = channel_setups(profile, self._data, self._title)
        ids = [setup.channel_id for setup in setups]
        incomer = next((s.channel_id for s in setups if s.role == ROLE_INCOMER), None)
        tenant_rating = next(
            (s.rated_current_a for s in setups if s.role != ROLE_INCOMER),
            default_rated_current(profile, ROLE_TENANT),
        )
        incomer_rating = next(
            (s.rated_current_a for s in setups if s.role == ROLE_INCOMER),
            default_rated_current(profile, ROLE_INCOMER),
        )
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_NAMES, default=[setup.name for setup in setups]): TextSelector(
                TextSelectorConfig(multiple=True)
            ),
        }
        if len(ids) > 1:
            fields[vol.Optional(CONF_INCOMER, description={"suggested_value": incomer})] = _select(
                ids
            )
            fields[
                vol.Optional(
                    CONF_COMMON,
                    default=[s.channel_id for s in setups if s.role == ROLE_COMMON],
                )
            ] = _select(ids, multiple=True)
        fields[vol.Required(CONF_RATED_CURRENT, default=tenant_rating)] = _number(
            0.1, 10000, 0.1, "A"
        )
        if len(ids) > 1:
            fields[vol.Required(CONF_INCOMER_RATED_CURRENT, default=incomer_rating)] = _number(
                0.1, 10000, 0.1, "A"
            )
        return self.async_show_form(
            step_id="channels",
            data_schema=vol.Schema(fields),
            description_placeholders={"channels": ", ".join(ids), CONF_PROFILE: profile.name},
        )

    def _channels_data(self, user_input: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Per-channel name, role and rated current, keyed by the profile's channel id."""
        names = [str(name).strip() for name in user_input.get(CONF_NAMES, [])]
        incomer = user_input.get(CONF_INCOMER)
        common = set(user_input.get(CONF_COMMON, []))
        channels: dict[str, dict[str, Any]] = {}
        specs = self._profile.expand(self._data.get(CONF_CHANNEL_COUNT))
        for index, spec in enumerate(specs):
            role = (
                ROLE_INCOMER
                if spec.channel_id == incomer
                else ROLE_COMMON
                if spec.channel_id in common
                else ROLE_TENANT
            )
            rating_key = CONF_INCOMER_RATED_CURRENT if role == ROLE_INCOMER else CONF_RATED_CURRENT
            name = names[index] if index < len(names) and names[index] else None
            channels[spec.channel_id] = {
                CONF_NAME: name or f"{self._title} {spec.channel_id}",
                CONF_ROLE: role,
                CONF_RATED_CURRENT: float(user_input[rating_key]),
            }
        assert all(c[CONF_ROLE] in CHANNEL_ROLES for c in channels.values())
        return channels

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename the meter and its channels, change roles and ratings.

        Profile, slave id and channel count are the meter's identity (unique and point ids
        derive from them): to change them, add the meter again.
        """
        subentry = self._get_reconfigure_subentry()
        profiles = await self._load_profiles()
        if subentry.data[CONF_PROFILE] not in profiles:
            return self.async_abort(reason="profile_missing")
        self._data = dict(subentry.data)
        if user_input is not None:
            self._title = user_input[CONF_NAME].strip() or subentry.title
            return await self.async_step_channels()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=vol.Schema({vol.Required(CONF_NAME, default=subentry.title): str}),
        )
