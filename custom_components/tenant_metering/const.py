"""Constants shared by the Tenant Metering integration."""

from typing import Final

DOMAIN: Final = "tenant_metering"
DEFAULT_PREFIX: Final = "tenant_metering"

CONF_PREFIX: Final = "prefix"
CONF_KIND: Final = "kind"
CONF_URL: Final = "url"
CONF_TOKEN: Final = "token"  # noqa: S105 - the config key's name, not a secret

# Config entries of this domain: the MQTT breaker hub and the ledger link.
KIND_MQTT_HUB: Final = "mqtt_hub"
KIND_LEDGER: Final = "ledger"
LEDGER_UNIQUE_ID: Final = "ledger"

ACK_TIMEOUT: Final = 5.0  # seconds a breaker has to acknowledge a relay command
LEDGER_HEALTH_INTERVAL: Final = 60  # seconds between ledger reachability checks

MANUFACTURER: Final = "Tenant Metering"
EVENT_COMMAND_FAILED: Final = f"{DOMAIN}_command_failed"  # the breaker_alert blueprint listens
ISSUE_LEDGER_UNREACHABLE: Final = "ledger_unreachable"

TENANT_STATUSES: Final = (
    "ok",
    "low",
    "arrears",
    "disconnect_due",
    "disconnected",
    "exempt",
    "quota_exhausted",
)
ARREARS_STATUSES: Final = frozenset({"arrears", "disconnect_due", "disconnected"})


def signal_new_channel_entity(entry_id: str) -> str:
    """Dispatcher signal: a breaker channel sent a field that has no entity yet."""
    return f"{DOMAIN}_{entry_id}_new_channel_entity"


def signal_device_update(entry_id: str, device_id: str) -> str:
    """Dispatcher signal: a breaker's state or availability changed."""
    return f"{DOMAIN}_{entry_id}_device_update_{device_id}"


def signal_new_tenant(entry_id: str) -> str:
    """Dispatcher signal: the ledger published a tenant that has no entities yet."""
    return f"{DOMAIN}_{entry_id}_new_tenant"


def signal_tenant_update(entry_id: str, tenant_id: str) -> str:
    """Dispatcher signal: a tenant's state changed."""
    return f"{DOMAIN}_{entry_id}_tenant_update_{tenant_id}"
