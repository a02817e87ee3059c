"""Config flow: the MQTT breaker hub (manual or discovered) and the ledger link.

Both are entries of this domain, told apart by ``data["kind"]`` and their unique ids
(``mqtt_{prefix}`` for a hub, ``ledger`` for the one ledger link).
"""

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
import voluptuous as vol

from .const import (
    CONF_KIND,
    CONF_PREFIX,
    CONF_TOKEN,
    CONF_URL,
    DEFAULT_PREFIX,
    DOMAIN,
    KIND_LEDGER,
    KIND_MQTT_HUB,
    LEDGER_UNIQUE_ID,
)
from .ledger import LedgerAuthError, LedgerClient, LedgerError
from .protocol import ProtocolError, discovery_prefix, parse_discovery

_LOGGER = logging.getLogger(__name__)

HUB_TITLE = "MQTT breakers"
LEDGER_TITLE = "Tenant Metering Ledger"


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
    """Create the MQTT hub entry or the ledger link entry."""

    VERSION = 1

    def __init__(self) -> None:
        self._prefix = DEFAULT_PREFIX
        self._device_name = ""
        self._ledger: dict[str, Any] = {}

    # -- MQTT hub --------------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the two things one can add by hand."""
        return self.async_show_menu(step_id="user", menu_options=[KIND_MQTT_HUB, KIND_LEDGER])

    async def async_step_mqtt_hub(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the installer confirm the MQTT topic prefix."""
        if user_input is not None:
            return await self._create_hub(user_input[CONF_PREFIX].strip("/"))
        return self.async_show_form(
            step_id=KIND_MQTT_HUB,
            data_schema=vol.Schema({vol.Required(CONF_PREFIX, default=DEFAULT_PREFIX): str}),
        )

    async def _create_hub(self, prefix: str) -> ConfigFlowResult:
        await self.async_set_unique_id(f"mqtt_{prefix}")
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
        await self.async_set_unique_id(f"mqtt_{prefix}")
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
        """Change the ledger's URL or token."""
        entry = self._get_reconfigure_entry()
        if entry.data.get(CONF_KIND) != KIND_LEDGER:
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
