"""Constants shared by the Tenant Metering integration."""

from typing import Final

DOMAIN: Final = "tenant_metering"
DEFAULT_PREFIX: Final = "tenant_metering"
CONF_PREFIX: Final = "prefix"
