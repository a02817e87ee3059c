"""Config flow for Tenant Metering."""

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
import voluptuous as vol

from .const import CONF_PREFIX, DEFAULT_PREFIX, DOMAIN


class TenantMeteringConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the hub entry for breakers speaking the native MQTT protocol."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the installer confirm the MQTT topic prefix."""
        if user_input is not None:
            prefix = user_input[CONF_PREFIX].strip("/")
            await self.async_set_unique_id(f"mqtt_{prefix}")
            self._abort_if_unique_id_configured()
            return self.async_create_entry(title="MQTT breakers", data={CONF_PREFIX: prefix})
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema({vol.Required(CONF_PREFIX, default=DEFAULT_PREFIX): str}),
        )
