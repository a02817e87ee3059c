"""Simulated building for tests and the demo: broker, breakers and Modbus meters."""
