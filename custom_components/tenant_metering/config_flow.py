"""Config flow: the MQTT breaker hub, the ledger link, Modbus gateways and adopted sensors.

All are entries of this domain, told apart by ``data["kind"]`` and their unique ids
(``mqtt_{prefix}`` for a hub, ``ledger`` for the one ledger link, the slug of its name for a
Modbus gateway, ``ha_{entity registry id}`` for an adopted sensor). Meters are config
subentries of their gateway (``MeterSubentryFlow``).
"""

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT, CONF_SCAN_INTERVAL
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from homeassistant.util import slugify
import voluptuous as vol

from .const import (
    CHANNEL_ROLES,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_CHANNEL_COUNT,
    CONF_CHANNELS,
    CONF_KIND,
    CONF_PARITY,
    CONF_PREFIX,
    CONF_PROFILE,
    CONF_RATED_CURRENT,
    CONF_ROLE,
    CONF_SENSOR,
    CONF_SERIAL_PORT,
    CONF_SLAVE_ID,
    CONF_STOPBITS,
    CONF_SWITCH,
    CONF_TOKEN,
    CONF_TRANSPORT,
    CONF_URL,
    DEFAULT_PREFIX,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    KIND_ADOPTED,
    KIND_LEDGER,
    KIND_MODBUS_GATEWAY,
    KIND_MQTT_HUB,
    MIN_SCAN_INTERVAL,
    ROLE_COMMON,
    ROLE_INCOMER,
    ROLE_TENANT,
    SUBENTRY_METER,
)
from .identifiers import LEDGER_UNIQUE_ID, adopted_entry_unique_id, hub_entry_unique_id
from .ledger_link.client import LedgerAuthError, LedgerClient, LedgerError
from .sources.modbus.core import ModbusBus, Profile, Transport
from .sources.modbus.gateway import channel_setups, default_rated_current, gateway_config
from .sources.modbus.profiles import async_load_catalog
from .sources.mqtt.protocol import (
    ProtocolError,
    discovery_device_id,
    discovery_prefix,
    parse_discovery,
)

_LOGGER = logging.getLogger(__name__)

HUB_TITLE = "MQTT breakers"
LEDGER_TITLE = "Tenant Metering Ledger"

# Meter subentry form fields that are not stored as such (channels are stored per channel).
CONF_NAMES = "names"
CONF_INCOMER = "incomer"
CONF_COMMON = "common_areas"
CONF_INCOMER_RATED_CURRENT = "incomer_rated_current_a"

BAUDRATES = ["1200", "2400", "4800", "9600", "19200", "38400", "57600", "115200"]


def valid_prefix(prefix: str) -> bool:
    """An MQTT topic prefix: not empty, no wildcards, no leading or trailing '/'."""
    return bool(prefix) and not any(c in prefix for c in "+#") and prefix.strip("/") == prefix


def _ledger_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_URL, default=defaults.get(CONF_URL, "")): TextSelector(
                TextSelectorConfig(type=TextSelectorType.URL)
            ),
            vol.Required(CONF_TOKEN): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
        }
    )


def _number(minimum: float, maximum: float, step: float = 1, unit: str | None = None) -> Any:
    config = NumberSelectorConfig(min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _select(options: list[str] | list[SelectOptionDict], *, multiple: bool = False) -> Any:
    return SelectSelector(
        SelectSelectorConfig(options=options, multiple=multiple, mode=SelectSelectorMode.DROPDOWN)
    )


def _network_schema(transport: Transport, defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, "")): str,
            vol.Required(
                CONF_PORT,
                default=defaults.get(CONF_PORT, 502 if transport is Transport.TCP else 8899),
            ): _number(1, 65535),
        }
    )


def _serial_schema(defaults: Mapping[str, Any]) -> vol.Schema:
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


def _connection_data(transport: Transport, user_input: Mapping[str, Any]) -> dict[str, Any]:
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


def _connection_key(data: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two gateways the same bus."""
    if data[CONF_TRANSPORT] == Transport.SERIAL:
        return {CONF_SERIAL_PORT: data[CONF_SERIAL_PORT]}
    return {CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}


async def _test_connection(data: Mapping[str, Any]) -> str | None:
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


class TenantMeteringConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the MQTT hub, the ledger link, a Modbus gateway or an adopted sensor entry."""

    VERSION = 1

    def __init__(self) -> None:
        self._prefix = DEFAULT_PREFIX
        self._device_name = ""
        self._ledger: dict[str, Any] = {}
        self._gateway_name = ""
        self._transport = Transport.TCP

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """The scan interval of a Modbus gateway."""
        return TenantMeteringOptionsFlow()

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        return config_entry.data.get(CONF_KIND) == KIND_MODBUS_GATEWAY

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Meters are added to (and configured under) their Modbus gateway."""
        if config_entry.data.get(CONF_KIND) == KIND_MODBUS_GATEWAY:
            return {SUBENTRY_METER: MeterSubentryFlow}
        return {}

    # -- MQTT hub --------------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer what one can add by hand: a hub, the ledger, a gateway, an adopted sensor."""
        return self.async_show_menu(
            step_id="user",
            menu_options=[KIND_MQTT_HUB, KIND_LEDGER, KIND_MODBUS_GATEWAY, KIND_ADOPTED],
        )

    async def async_step_mqtt_hub(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the installer confirm the MQTT topic prefix."""
        errors: dict[str, str] = {}
        if user_input is not None:
            prefix = user_input[CONF_PREFIX].strip()
            if valid_prefix(prefix):
                return await self._create_hub(prefix)
            errors[CONF_PREFIX] = "invalid_prefix"
        return self.async_show_form(
            step_id=KIND_MQTT_HUB,
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_PREFIX, default=(user_input or {}).get(CONF_PREFIX, DEFAULT_PREFIX)
                    ): str
                }
            ),
            errors=errors,
        )

    async def _create_hub(self, prefix: str) -> ConfigFlowResult:
        await self.async_set_unique_id(hub_entry_unique_id(prefix))
        self._abort_if_unique_id_configured()
        return self.async_create_entry(
            title=HUB_TITLE, data={CONF_KIND: KIND_MQTT_HUB, CONF_PREFIX: prefix}
        )

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """A breaker announced itself; one hub entry per prefix serves all breakers."""
        prefix = discovery_prefix(discovery_info.topic)
        if not discovery_info.payload or prefix is None:
            return self.async_abort(reason="invalid_discovery_info")
        try:
            device = parse_discovery(discovery_info.payload)
        except ProtocolError as err:
            _LOGGER.debug("Ignoring discovery on %s: %s", discovery_info.topic, err)
            return self.async_abort(reason="invalid_discovery_info")
        if device.device_id != discovery_device_id(discovery_info.topic, prefix):
            _LOGGER.debug(
                "Ignoring discovery on %s: device_id does not match", discovery_info.topic
            )
            return self.async_abort(reason="invalid_discovery_info")
        await self.async_set_unique_id(hub_entry_unique_id(prefix))
        self._abort_if_unique_id_configured()
        self._prefix = prefix
        self._device_name = device.name
        self.context["title_placeholders"] = {"name": device.name}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm adding the hub for a discovered breaker."""
        if user_input is not None:
            return await self._create_hub(self._prefix)
        self._set_confirm_only()
        return self.async_show_form(
            step_id="discovery_confirm",
            description_placeholders={"name": self._device_name, CONF_PREFIX: self._prefix},
        )

    # -- ledger link -----------------------------------------------------------------------

    async def _validate_ledger(self, url: str, token: str) -> str | None:
        """The error key for the form, or None if the ledger accepts the token."""
        client = LedgerClient(async_get_clientsession(self.hass), url, token)
        try:
            await client.tenants()
        except LedgerAuthError:
            return "invalid_auth"
        except LedgerError:
            return "cannot_connect"
        return None

    def _ledger_data(self, url: str, token: str) -> dict[str, Any]:
        return {
            CONF_KIND: KIND_LEDGER,
            CONF_URL: url.rstrip("/"),
            CONF_TOKEN: token,
            CONF_PREFIX: self._prefix,
        }

    async def async_step_ledger(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Link the ledger add-on by URL and API token."""
        await self.async_set_unique_id(LEDGER_UNIQUE_ID)
        self._abort_if_unique_id_configured()
        errors: dict[str, str] = {}
        if user_input is not None:
            url, token = user_input[CONF_URL], user_input[CONF_TOKEN]
            if not (error := await self._validate_ledger(url, token)):
                return self.async_create_entry(
                    title=LEDGER_TITLE, data=self._ledger_data(url, token)
                )
            errors["base"] = error
        return self.async_show_form(
            step_id=KIND_LEDGER,
            data_schema=_ledger_schema(user_input or {}),
            errors=errors,
        )

    async def async_step_hassio(self, discovery_info: HassioServiceInfo) -> ConfigFlowResult:
        """The ledger add-on announced itself through the Supervisor."""
        url = discovery_info.config.get(CONF_URL)
        token = discovery_info.config.get(CONF_TOKEN)
        if not isinstance(url, str) or not isinstance(token, str):
            return self.async_abort(reason="invalid_discovery_info")
        self._prefix = str(discovery_info.config.get(CONF_PREFIX) or DEFAULT_PREFIX)
        if not valid_prefix(self._prefix):
            return self.async_abort(reason="invalid_discovery_info")
        await self.async_set_unique_id(LEDGER_UNIQUE_ID)
        # A reinstalled add-on has a new token or host name: update the existing link.
        self._abort_if_unique_id_configured(updates={CONF_URL: url.rstrip("/"), CONF_TOKEN: token})
        self._ledger = {CONF_URL: url, CONF_TOKEN: token}
        return await self.async_step_hassio_confirm()

    async def async_step_hassio_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm linking the discovered ledger add-on."""
        errors: dict[str, str] = {}
        if user_input is not None:
            url, token = self._ledger[CONF_URL], self._ledger[CONF_TOKEN]
            if not (error := await self._validate_ledger(url, token)):
                return self.async_create_entry(
                    title=LEDGER_TITLE, data=self._ledger_data(url, token)
                )
            errors["base"] = error
        self._set_confirm_only()
        return self.async_show_form(
            step_id="hassio_confirm",
            description_placeholders={CONF_URL: self._ledger[CONF_URL]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the ledger's URL or token (or a gateway's connection, an adopted sensor's
        name and switch)."""
        entry = self._get_reconfigure_entry()
        kind = entry.data.get(CONF_KIND)
        if kind == KIND_MODBUS_GATEWAY:
            self._transport = Transport(entry.data[CONF_TRANSPORT])
            if self._transport is Transport.SERIAL:
                return await self.async_step_reconfigure_serial()
            return await self.async_step_reconfigure_network()
        if kind == KIND_ADOPTED:
            return await self.async_step_reconfigure_adopted()
        if kind != KIND_LEDGER:
            return self.async_abort(reason="reconfigure_not_supported")
        errors: dict[str, str] = {}
        if user_input is not None:
            url, token = user_input[CONF_URL], user_input[CONF_TOKEN]
            if not (error := await self._validate_ledger(url, token)):
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_URL: url.rstrip("/"), CONF_TOKEN: token}
                )
            errors["base"] = error
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_ledger_schema(user_input or entry.data),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The ledger refused the token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API token."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            token = user_input[CONF_TOKEN]
            if not (error := await self._validate_ledger(entry.data[CONF_URL], token)):
                return self.async_update_reload_and_abort(entry, data_updates={CONF_TOKEN: token})
            errors["base"] = error
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_TOKEN): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            description_placeholders={CONF_URL: entry.data[CONF_URL]},
            errors=errors,
        )

    # -- Modbus gateways -------------------------------------------------------------------

    async def async_step_modbus_gateway(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Name the gateway (its name's slug becomes its id in point ids) and pick the link."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            uid = slugify(name, separator="-")
            if not any(char.isalnum() for char in name):
                errors[CONF_NAME] = "invalid_name"
            else:
                await self.async_set_unique_id(uid)
                self._abort_if_unique_id_configured()
                self._gateway_name = name
                self._transport = Transport(user_input[CONF_TRANSPORT])
                if self._transport is Transport.SERIAL:
                    return await self.async_step_gateway_serial()
                return await self.async_step_gateway_network()
        return self.async_show_form(
            step_id=KIND_MODBUS_GATEWAY,
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_NAME, default=(user_input or {}).get(CONF_NAME, "")): str,
                    vol.Required(CONF_TRANSPORT, default=Transport.TCP.value): SelectSelector(
                        SelectSelectorConfig(
                            options=[t.value for t in Transport],
                            translation_key=CONF_TRANSPORT,
                            mode=SelectSelectorMode.LIST,
                        )
                    ),
                }
            ),
            errors=errors,
        )

    async def _create_gateway(
        self, step_id: str, user_input: dict[str, Any] | None, schema: vol.Schema
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _connection_data(self._transport, user_input)
            self._async_abort_entries_match(_connection_key(data))
            if not (error := await _test_connection(data)):
                return self.async_create_entry(
                    title=self._gateway_name,
                    data={CONF_KIND: KIND_MODBUS_GATEWAY, **data},
                    options={CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL},
                )
            errors["base"] = error
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            description_placeholders={CONF_NAME: self._gateway_name},
            errors=errors,
        )

    async def async_step_gateway_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Host and port of a Modbus TCP device or an RS-485-to-Ethernet gateway."""
        return await self._create_gateway(
            "gateway_network", user_input, _network_schema(self._transport, {})
        )

    async def async_step_gateway_serial(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A serial port (USB RS-485 adapter) and its line settings."""
        return await self._create_gateway("gateway_serial", user_input, _serial_schema({}))

    async def _reconfigure_gateway(
        self, step_id: str, user_input: dict[str, Any] | None, schema: vol.Schema
    ) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _connection_data(self._transport, user_input)
            if not (error := await _test_connection(data)):
                # The gateway's update listener reloads it (once); HA 2025.4's config flows
                # have no async_update_and_abort.
                self.hass.config_entries.async_update_entry(entry, data={**entry.data, **data})
                return self.async_abort(reason="reconfigure_successful")
            errors["base"] = error
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            description_placeholders={CONF_NAME: entry.title},
            errors=errors,
        )

    async def async_step_reconfigure_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move a network gateway to another address; its id and point ids stay."""
        entry = self._get_reconfigure_entry()
        return await self._reconfigure_gateway(
            "reconfigure_network", user_input, _network_schema(self._transport, entry.data)
        )

    async def async_step_reconfigure_serial(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a serial gateway's port or line settings; its id and point ids stay."""
        entry = self._get_reconfigure_entry()
        return await self._reconfigure_gateway(
            "reconfigure_serial", user_input, _serial_schema(entry.data)
        )

    # -- adopted sensors -------------------------------------------------------------------

    def _adopted_schema(self, defaults: Mapping[str, Any], *, with_sensor: bool) -> vol.Schema:
        fields: dict[vol.Marker, Any] = {}
        if with_sensor:
            fields[vol.Required(CONF_SENSOR)] = EntitySelector(
                EntitySelectorConfig(domain="sensor", device_class="energy")
            )
        fields[vol.Optional(CONF_NAME)] = str
        fields[vol.Optional(CONF_SWITCH)] = EntitySelector(EntitySelectorConfig(domain="switch"))
        return self.add_suggested_values_to_schema(vol.Schema(fields), defaults)

    def _switch_reference(self, entity_id: str | None) -> str | None:
        """The switch's registry id when it has one (survives renames), else its entity id."""
        if not entity_id:
            return None
        entry = er.async_get(self.hass).async_get(entity_id)
        return entry.id if entry is not None else entity_id

    async def async_step_adopted(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Adopt an existing HA energy sensor (and optionally its switch) as a metering point."""
        errors: dict[str, str] = {}
        if user_input is not None:
            registry = er.async_get(self.hass)
            sensor = registry.async_get(user_input[CONF_SENSOR])
            if sensor is None:
                errors[CONF_SENSOR] = "not_registered"
            else:
                await self.async_set_unique_id(adopted_entry_unique_id(sensor.id))
                self._abort_if_unique_id_configured()
                state = self.hass.states.get(sensor.entity_id)
                name = (user_input.get(CONF_NAME) or "").strip() or (
                    state.name if state else sensor.entity_id
                )
                data: dict[str, Any] = {CONF_KIND: KIND_ADOPTED, CONF_SENSOR: sensor.id}
                if switch := self._switch_reference(user_input.get(CONF_SWITCH)):
                    data[CONF_SWITCH] = switch
                return self.async_create_entry(title=name, data=data)
        return self.async_show_form(
            step_id=KIND_ADOPTED,
            data_schema=self._adopted_schema(user_input or {}, with_sensor=True),
            errors=errors,
        )

    async def async_step_reconfigure_adopted(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename an adopted point or change its switch; the point id stays."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            data = {k: v for k, v in entry.data.items() if k != CONF_SWITCH}
            if switch := self._switch_reference(user_input.get(CONF_SWITCH)):
                data[CONF_SWITCH] = switch
            return self.async_update_reload_and_abort(
                entry, title=(user_input.get(CONF_NAME) or "").strip() or entry.title, data=data
            )
        registry = er.async_get(self.hass)
        switch = entry.data.get(CONF_SWITCH)
        defaults = {CONF_NAME: entry.title}
        if switch and (switch_id := er.async_resolve_entity_id(registry, switch)):
            defaults[CONF_SWITCH] = switch_id
        return self.async_show_form(
            step_id="reconfigure_adopted",
            data_schema=self._adopted_schema(defaults, with_sensor=False),
        )


class TenantMeteringOptionsFlow(OptionsFlow):
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
