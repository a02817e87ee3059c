"""Modbus gateways and their meters; ``core`` is the HA-free Modbus code and profiles."""
