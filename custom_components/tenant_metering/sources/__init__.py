"""Where readings come from: one package per kind of source (MQTT, Modbus, adopted sensors)."""
