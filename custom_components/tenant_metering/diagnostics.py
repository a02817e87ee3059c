"""Diagnostics: what the entry's runtime knows (the hub about its breakers, a gateway about its
meters, the ledger link about tenants, an adopted point about its sensor). Secrets and
addresses are redacted; each runtime redacts the personal data it holds."""

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant

from .const import CONF_SERIAL_PORT, CONF_TOKEN
from .runtime import TenantMeteringConfigEntry

TO_REDACT = {CONF_TOKEN, CONF_HOST, CONF_SERIAL_PORT}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: TenantMeteringConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry (the ledger token is redacted)."""
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        **entry.runtime_data.diagnostics(),
    }
