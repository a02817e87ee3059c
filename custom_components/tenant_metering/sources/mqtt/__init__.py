"""MQTT breakers speaking the native protocol, all under one hub per topic prefix."""
