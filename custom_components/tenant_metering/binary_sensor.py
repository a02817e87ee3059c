"""Binary sensors: whether a tenant is in arrears, and the ledger's cut-off guard."""

from homeassistant.const import Platform

from .runtime import platform_setup

PARALLEL_UPDATES = 0

async_setup_entry = platform_setup(Platform.BINARY_SENSOR)
