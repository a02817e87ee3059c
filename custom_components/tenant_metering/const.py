"""Constants shared by the Tenant Metering integration."""

from enum import StrEnum
from typing import Final, Literal

DOMAIN: Final = "tenant_metering"
DEFAULT_PREFIX: Final = "tenant_metering"

CONF_PREFIX: Final = "prefix"
CONF_KIND: Final = "kind"
CONF_URL: Final = "url"
CONF_TOKEN: Final = "token"  # noqa: S105 - the config key's name, not a secret


class EntryKind(StrEnum):
    """The config entries of this domain (``entry.data["kind"]``): the MQTT breaker hub, the
    ledger link, Modbus gateways (meters are their config subentries) and adopted HA energy
    sensors (one entry each). A new kind fails type checking where kinds are matched."""

    MQTT_HUB = "mqtt_hub"
    LEDGER = "ledger"
    MODBUS_GATEWAY = "modbus_gateway"
    ADOPTED = "adopted"


# As stored in entry data, flow step ids and menus: plain text.
KIND_MQTT_HUB: Final = EntryKind.MQTT_HUB.value
KIND_LEDGER: Final = EntryKind.LEDGER.value
KIND_MODBUS_GATEWAY: Final = EntryKind.MODBUS_GATEWAY.value
KIND_ADOPTED: Final = EntryKind.ADOPTED.value

# A relay as a device confirms it or a command asks for it (MQTT breakers, Modbus meters).
type RelayState = Literal["on", "off"]
SUBENTRY_METER: Final = "meter"

# Modbus gateway entry data / options, meter subentry data.
CONF_TRANSPORT: Final = "transport"
CONF_SERIAL_PORT: Final = "serial_port"
CONF_BAUDRATE: Final = "baudrate"
CONF_BYTESIZE: Final = "bytesize"
CONF_PARITY: Final = "parity"
CONF_STOPBITS: Final = "stopbits"
CONF_PROFILE: Final = "profile"
CONF_SLAVE_ID: Final = "slave_id"
CONF_CHANNEL_COUNT: Final = "channel_count"
CONF_CHANNELS: Final = "channels"
CONF_ROLE: Final = "role"
CONF_RATED_CURRENT: Final = "rated_current_a"
DEFAULT_SCAN_INTERVAL: Final = 30  # seconds between polls of a gateway's meters
MIN_SCAN_INTERVAL: Final = 5
DEFAULT_RATED_CURRENT_A: Final = 32.0  # a typical room circuit's breaker
PROFILES_DIR: Final = "tenant_metering/profiles"  # user profiles, under HA's config dir

# Roles of a Modbus channel: a tenant's circuit, a common area, or the building incomer.
ROLE_TENANT: Final = "tenant"
ROLE_COMMON: Final = "common"
ROLE_INCOMER: Final = "incomer"
CHANNEL_ROLES: Final = (ROLE_TENANT, ROLE_COMMON, ROLE_INCOMER)

# Adopted sensor entry data: the sensor's entity registry id, what it meters (absent in
# entries from before water, gas and heat: electricity), the optional switch.
CONF_SENSOR: Final = "sensor"
CONF_RESOURCE: Final = "resource"
CONF_SWITCH: Final = "switch"

ACK_TIMEOUT: Final = 5.0  # seconds a breaker has to acknowledge a relay command
LEDGER_HEALTH_INTERVAL: Final = 60  # seconds between ledger reachability checks

MANUFACTURER: Final = "Tenant Metering"
# Why a tenant's supply is off, as reported to the ledger (docs/ledger-contract.md).
CAUSE_ARREARS: Final = "arrears"
CAUSE_LANDLORD: Final = "landlord"
CAUSE_SAFETY: Final = "safety"
EVENT_COMMAND_FAILED: Final = f"{DOMAIN}_command_failed"  # the breaker_alert blueprint listens
ISSUE_LEDGER_UNREACHABLE: Final = "ledger_unreachable"
ISSUE_LEDGER_REWOUND: Final = "ledger_rewound"
# Fired when the ledger's chain head contradicts one seen before (chain_watch.py).
EVENT_LEDGER_REWOUND: Final = f"{DOMAIN}_ledger_rewound"
ISSUE_STATEMENTS_FAILED: Final = "statements_failed"
# Fired once per leak alarm of a watched point (ledger_link/leaks.py); leak_alarm listens.
EVENT_LEAK: Final = f"{DOMAIN}_leak"
GUARD_STORAGE_VERSION: Final = 1
CHAIN_STORAGE_VERSION: Final = 1
CHAIN_SAVE_DELAY: Final = 10  # seconds: the newest head seen is stored at most this often
ISSUE_PROFILE_INVALID: Final = "profile_invalid"

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
# The statuses whose arrears cut-off may be restored (the ledger's billing/status.py decides
# the same; Home Assistant checks it again rather than trust a restore for anyone else).
RESTORABLE_STATUSES: Final = frozenset({"ok", "low", "exempt"})


def signal_new_channel_entity(entry_id: str) -> str:
    """Dispatcher signal: a breaker channel sent a field that has no entity yet."""
    return f"{DOMAIN}_{entry_id}_new_channel_entity"


def signal_device_update(entry_id: str, device_id: str) -> str:
    """Dispatcher signal: a breaker's state or availability changed."""
    return f"{DOMAIN}_{entry_id}_device_update_{device_id}"


def signal_new_tenant(entry_id: str) -> str:
    """Dispatcher signal: the ledger published a tenant that has no entities yet."""
    return f"{DOMAIN}_{entry_id}_new_tenant"


def signal_ledger_availability(entry_id: str) -> str:
    """Dispatcher signal: whether the ledger's tenant state can be trusted changed."""
    return f"{DOMAIN}_{entry_id}_ledger_availability"


def signal_ledger_chain(entry_id: str) -> str:
    """Dispatcher signal: the ledger published a new chain head."""
    return f"{DOMAIN}_{entry_id}_ledger_chain"


def signal_new_leak_point(entry_id: str) -> str:
    """A point the ledger watches for leaks appeared: add its leak sensor."""
    return f"{DOMAIN}_{entry_id}_new_leak_point"


def signal_new_tenant_resource(entry_id: str) -> str:
    """Dispatcher signal: a known tenant's state names a resource it had no entities for."""
    return f"{DOMAIN}_{entry_id}_new_tenant_resource"


def signal_tenant_update(entry_id: str, tenant_id: str) -> str:
    """Dispatcher signal: a tenant's state changed."""
    return f"{DOMAIN}_{entry_id}_tenant_update_{tenant_id}"
