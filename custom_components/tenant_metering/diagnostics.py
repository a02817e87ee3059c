"""Diagnostics: what the hub knows about its breakers, a gateway about its meters, the ledger
link about tenants, an adopted point about its sensor. Secrets and addresses are redacted."""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant

from . import TenantMeteringConfigEntry
from .adopted import AdoptedPoint
from .const import CONF_SERIAL_PORT, CONF_TOKEN
from .gateway import ModbusGateway
from .hub import MqttHub

TO_REDACT = {CONF_TOKEN, CONF_HOST, CONF_SERIAL_PORT}
# A tenant's name and status reason are personal data, as are the HA users linked to them.
TENANT_TO_REDACT = {"name", "status_reason", "ha_user_ids"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: TenantMeteringConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry (the ledger token is redacted)."""
    runtime = entry.runtime_data
    data: dict[str, Any] = {"entry": async_redact_data(entry.as_dict(), TO_REDACT)}
    if isinstance(runtime, MqttHub):
        data["breakers"] = {
            device_id: {
                "config": asdict(breaker.config),
                "online": breaker.online,
                "last_ts": breaker.last_ts,
                "last_seq": breaker.last_seq,
                "states": {cid: asdict(state) for cid, state in breaker.states.items()},
                "relays": breaker.relays,
                "entities": sorted(breaker.entity_keys),
                "pending_commands": len(breaker.pending),
            }
            for device_id, breaker in runtime.breakers.items()
        }
        return data
    if isinstance(runtime, ModbusGateway):
        data["gateway"] = runtime.diagnostics()
        return data
    if isinstance(runtime, AdoptedPoint):
        reading = runtime.last_reading
        data["adopted"] = {
            "point": runtime.point,
            "entity_id": runtime.entity_id,
            "switch": runtime.switch_entity_id,
            "last_reading": asdict(reading) if reading else None,
        }
        return data
    coordinator = runtime.coordinator
    data["ledger"] = {
        "url": runtime.client.url,
        "mqtt_status": runtime.ledger_online,
        "last_poll_success": coordinator.last_update_success,
        "tenants": {
            tenant_id: async_redact_data(
                {
                    key: str(value)
                    if value is not None and not isinstance(value, bool | tuple)
                    else value
                    for key, value in asdict(tenant).items()
                },
                TENANT_TO_REDACT,
            )
            for tenant_id, tenant in runtime.tenants.items()
        },
    }
    return data
