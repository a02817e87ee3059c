"""Config flow: the MQTT breaker hub, the ledger link, Modbus gateways and adopted sensors.

All are entries of this domain, told apart by ``data["kind"]`` and their unique ids
(``mqtt_{prefix}`` for a hub, ``ledger`` for the one ledger link, the slug of its name for a
Modbus gateway, ``ha_{entity registry id}`` for an adopted sensor). Meters are config
subentries of their gateway (``sources/modbus/flow.py``, with the gateway's options).
"""

from collections.abc import Mapping
import logging
from typing import Any, assert_never

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME, CONF_SCAN_INTERVAL
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
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
    CONF_KIND,
    CONF_PREFIX,
    CONF_RESOURCE,
    CONF_SENSOR,
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
    SUBENTRY_METER,
    EntryKind,
)
from .identifiers import LEDGER_UNIQUE_ID, adopted_entry_unique_id, hub_entry_unique_id
from .ledger_link.client import LedgerAuthError, LedgerClient, LedgerError
from .resources import Resource
from .sources.adopted.register import REGISTER_STATE_CLASSES, RESOURCES_OF_DEVICE_CLASS
from .sources.modbus.core import Transport
from .sources.modbus.flow import (
    GatewayOptionsFlow,
    MeterSubentryFlow,
    async_test_connection,
    connection_data,
    connection_key,
    network_schema,
    serial_schema,
)
from .sources.mqtt.protocol import (
    ProtocolError,
    discovery_device_id,
    discovery_prefix,
    parse_discovery,
)

_LOGGER = logging.getLogger(__name__)

HUB_TITLE = "MQTT breakers"
LEDGER_TITLE = "Tenant Metering Ledger"


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
        return GatewayOptionsFlow()

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
        match EntryKind(entry.data.get(CONF_KIND, EntryKind.MQTT_HUB)):
            case EntryKind.MODBUS_GATEWAY:
                self._transport = Transport(entry.data[CONF_TRANSPORT])
                if self._transport is Transport.SERIAL:
                    return await self.async_step_reconfigure_serial()
                return await self.async_step_reconfigure_network()
            case EntryKind.ADOPTED:
                return await self.async_step_reconfigure_adopted()
            case EntryKind.MQTT_HUB:
                return self.async_abort(reason="reconfigure_not_supported")
            case EntryKind.LEDGER:
                return await self._reconfigure_ledger(entry, user_input)
            case unknown:
                assert_never(unknown)

    async def _reconfigure_ledger(
        self, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
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
            data = connection_data(self._transport, user_input)
            self._async_abort_entries_match(connection_key(data))
            if not (error := await async_test_connection(data)):
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
            "gateway_network", user_input, network_schema(self._transport, {})
        )

    async def async_step_gateway_serial(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A serial port (USB RS-485 adapter) and its line settings."""
        return await self._create_gateway("gateway_serial", user_input, serial_schema({}))

    async def _reconfigure_gateway(
        self, step_id: str, user_input: dict[str, Any] | None, schema: vol.Schema
    ) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = connection_data(self._transport, user_input)
            if not (error := await async_test_connection(data)):
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
            "reconfigure_network", user_input, network_schema(self._transport, entry.data)
        )

    async def async_step_reconfigure_serial(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a serial gateway's port or line settings; its id and point ids stay."""
        entry = self._get_reconfigure_entry()
        return await self._reconfigure_gateway(
            "reconfigure_serial", user_input, serial_schema(entry.data)
        )

    # -- adopted sensors -------------------------------------------------------------------

    def _adopted_schema(self, defaults: Mapping[str, Any], *, with_sensor: bool) -> vol.Schema:
        fields: dict[vol.Marker, Any] = {}
        if with_sensor:
            fields[vol.Required(CONF_SENSOR)] = EntitySelector(
                EntitySelectorConfig(domain="sensor", device_class=list(RESOURCES_OF_DEVICE_CLASS))
            )
            fields[vol.Optional(CONF_RESOURCE)] = SelectSelector(
                SelectSelectorConfig(
                    options=[resource.value for resource in Resource],
                    translation_key=CONF_RESOURCE,
                    mode=SelectSelectorMode.DROPDOWN,
                )
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

    def _adopted_resource(
        self, sensor: er.RegistryEntry, chosen: str | None, errors: dict[str, str]
    ) -> Resource | None:
        """What the sensor meters: its device class decides, the installer's choice only
        between electricity and heat; a sensor that is no meter total gets an error."""
        state = self.hass.states.get(sensor.entity_id)
        attributes = state.attributes if state else {}
        device_class = (
            sensor.device_class or sensor.original_device_class or attributes.get("device_class")
        )
        state_class = (sensor.capabilities or {}).get("state_class") or attributes.get(
            "state_class"
        )
        possible = RESOURCES_OF_DEVICE_CLASS.get(str(device_class))
        if possible is None:
            errors[CONF_SENSOR] = "not_a_meter"
        elif state_class not in REGISTER_STATE_CLASSES:
            errors[CONF_SENSOR] = "not_a_total"
        elif chosen and chosen not in possible:
            errors[CONF_RESOURCE] = "resource_mismatch"
        else:
            return Resource(chosen) if chosen else possible[0]
        return None

    async def async_step_adopted(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Adopt an existing HA meter sensor (energy, water or gas; optionally its switch)
        as a metering point."""
        errors: dict[str, str] = {}
        if user_input is not None:
            registry = er.async_get(self.hass)
            sensor = registry.async_get(user_input[CONF_SENSOR])
            if sensor is None:
                errors[CONF_SENSOR] = "not_registered"
            elif resource := self._adopted_resource(sensor, user_input.get(CONF_RESOURCE), errors):
                await self.async_set_unique_id(adopted_entry_unique_id(sensor.id))
                self._abort_if_unique_id_configured()
                state = self.hass.states.get(sensor.entity_id)
                name = (user_input.get(CONF_NAME) or "").strip() or (
                    state.name if state else sensor.entity_id
                )
                data: dict[str, Any] = {
                    CONF_KIND: KIND_ADOPTED,
                    CONF_SENSOR: sensor.id,
                    CONF_RESOURCE: resource.value,
                }
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
