"""Modbus core tests: real pymodbus server on 127.0.0.1, no Home Assistant instance."""
