"""Sensors: measurements per channel (MQTT breaker or Modbus meter), figures per tenant, and
the ledger's cut-off count and chain head. Each entry's runtime says which it has."""

from homeassistant.const import Platform

from .runtime import platform_setup

PARALLEL_UPDATES = 0

async_setup_entry = platform_setup(Platform.SENSOR)
