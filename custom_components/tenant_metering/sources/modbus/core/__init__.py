"""Modbus metering core: profiles, decoding, block planning and polling — no Home Assistant.

The HA glue builds a ``ModbusBus`` per gateway config entry and a ``MeterPoller`` per meter
subentry, polls on its scan interval and maps ``ChannelReading`` fields to entities and
ledger readings (``energy_wh`` is the integer register reading the ledger bills from).
"""

from .bus import GatewayConfig, ModbusBus, Transport, create_client, unit_keyword
from .loader import BUILT_IN_DIR, ProfileCatalog, ProfileError, load_profile_file, load_profiles
from .poller import ChannelReading, MeterConfig, MeterPoller, MeterReading, RelayWriteError
from .profile import ChannelSpec, Profile, Quantity, Table

__all__ = [
    "BUILT_IN_DIR",
    "ChannelReading",
    "ChannelSpec",
    "GatewayConfig",
    "MeterConfig",
    "MeterPoller",
    "MeterReading",
    "ModbusBus",
    "Profile",
    "ProfileCatalog",
    "ProfileError",
    "Quantity",
    "RelayWriteError",
    "Table",
    "Transport",
    "create_client",
    "load_profile_file",
    "load_profiles",
    "unit_keyword",
]
