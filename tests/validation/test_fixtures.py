"""The shared fixtures give real servers: a Mosquitto broker and a pymodbus server."""

import asyncio
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import AsyncModbusTcpClient

from custom_components.tenant_metering.sources.modbus.core.bus import unit_keyword
from tenant_sim.modbus_server import SimulatedModbusServer, Table
from tenant_sim.mosquitto import MosquittoBroker


def test_mosquitto_keeps_retained_messages_across_restart(mosquitto: MosquittoBroker) -> None:
    publisher = paho.Client(CallbackAPIVersion.VERSION2)
    publisher.connect(mosquitto.host, mosquitto.port)
    publisher.loop_start()
    publisher.publish("fixture/retained", b"kept", qos=1, retain=True).wait_for_publish(5)
    publisher.loop_stop()
    publisher.disconnect()

    mosquitto.restart()

    received: list[bytes] = []
    subscriber = paho.Client(CallbackAPIVersion.VERSION2)
    subscriber.on_message = lambda _client, _userdata, message: received.append(message.payload)
    subscriber.connect(mosquitto.host, mosquitto.port)
    subscriber.subscribe("fixture/retained", qos=1)
    for _ in range(100):
        subscriber.loop(timeout=0.05)
        if received:
            break
    subscriber.disconnect()
    assert received == [b"kept"]


async def test_modbus_server_serves_written_registers(
    modbus_server: SimulatedModbusServer,
) -> None:
    modbus_server.write(1, Table.INPUT, 10, [0x1234, 0x5678])
    client = AsyncModbusTcpClient(modbus_server.host, port=modbus_server.port)
    await client.connect()
    try:
        device: dict[str, Any] = {unit_keyword(client.read_input_registers): 1}  # or slave=1
        reply = await client.read_input_registers(10, count=2, **device)
    finally:
        client.close()
    await asyncio.sleep(0)
    assert reply.registers == [0x1234, 0x5678]
    assert modbus_server.requests == 1
    assert modbus_server.read(1, Table.INPUT, 10, 2) == [0x1234, 0x5678]
