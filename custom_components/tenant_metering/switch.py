"""Switches: the relay of a channel (MQTT breaker or Modbus meter), and a tenant's supply
(``ledger_link/supply.py``). Each entry's runtime says which it has."""

from homeassistant.const import Platform

from .runtime import platform_setup

PARALLEL_UPDATES = 0

async_setup_entry = platform_setup(Platform.SWITCH)
