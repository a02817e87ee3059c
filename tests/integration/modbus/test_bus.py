"""The bus: pymodbus keyword adapter, client construction, back-off timing (injected clock)."""

from typing import Any

import pymodbus
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerRTU, FramerSocket
import pytest

from custom_components.tenant_metering.sources.modbus.core import bus as bus_module
from custom_components.tenant_metering.sources.modbus.core.bus import (
    GatewayConfig,
    ModbusBus,
    Transport,
    create_client,
    unit_keyword,
)
from custom_components.tenant_metering.sources.modbus.core.profile import Table


async def test_unit_keyword_follows_the_installed_signature() -> None:
    def pymodbus_3_8(address: int, *, count: int = 1, slave: int = 1) -> None: ...

    def pymodbus_3_10(address: int, *, count: int = 1, device_id: int = 1) -> None: ...

    def unrelated(address: int, *, count: int = 1) -> None: ...

    assert unit_keyword(pymodbus_3_8) == "slave"
    assert unit_keyword(pymodbus_3_10) == "device_id"
    client = AsyncModbusTcpClient("127.0.0.1")
    renamed_in = (3, 10)  # pymodbus 3.10 renamed slave= to device_id=
    installed = tuple(int(part) for part in pymodbus.__version__.split(".")[:2])
    expected = "device_id" if installed >= renamed_in else "slave"
    assert unit_keyword(client.read_input_registers) == expected
    client.close()
    with pytest.raises(TypeError, match="neither device_id nor slave"):
        unit_keyword(unrelated)


class _Reply:
    def __init__(self, registers: list[int]) -> None:
        self.registers = registers
        self.bits = [bool(r) for r in registers]

    def isError(self) -> bool:
        return False


class _FakeClient:
    """A client whose connects succeed or fail on cue, recording every call."""

    def __init__(self, connects: list[bool], calls: list[dict[str, Any]]) -> None:
        self._connects = connects
        self.calls = calls
        self.connected = False

    async def connect(self) -> bool:
        self.calls.append({"connect": True})
        self.connected = self._connects.pop(0)
        return self.connected

    def close(self) -> None:
        self.connected = False


class _Pymodbus310Client(_FakeClient):
    async def read_input_registers(
        self,
        address: int,
        *,
        count: int = 1,
        device_id: int = 1,
        no_response_expected: bool = False,
    ) -> _Reply:
        self.calls.append({"address": address, "count": count, "device_id": device_id})
        return _Reply(list(range(count)))


class _Pymodbus38Client(_FakeClient):
    async def read_input_registers(
        self, address: int, *, count: int = 1, slave: int = 1, no_response_expected: bool = False
    ) -> _Reply:
        self.calls.append({"address": address, "count": count, "slave": slave})
        return _Reply(list(range(count)))


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CONFIG = GatewayConfig(
    transport=Transport.TCP, host="gateway", backoff_initial_s=1.0, backoff_max_s=4.0
)


@pytest.mark.parametrize(
    ("client_class", "keyword"), [(_Pymodbus38Client, "slave"), (_Pymodbus310Client, "device_id")]
)
async def test_bus_names_the_slave_with_the_clients_keyword(
    client_class: type[_FakeClient], keyword: str
) -> None:
    calls: list[dict[str, Any]] = []
    bus = ModbusBus(CONFIG, client_factory=lambda _config: client_class([True], calls))
    assert await bus.read(7, Table.INPUT, 10, 3) == [0, 1, 2]
    assert calls[-1] == {"address": 10, "count": 3, keyword: 7}
    await bus.close()


async def test_failed_connects_back_off_exponentially_up_to_the_maximum() -> None:
    calls: list[dict[str, Any]] = []
    clock = _Clock()
    outcomes = [False, False, False, False, True]
    bus = ModbusBus(
        CONFIG, clock=clock, client_factory=lambda _config: _Pymodbus38Client(outcomes, calls)
    )

    def connects() -> int:
        return sum(1 for call in calls if "connect" in call)

    attempts_at = []
    for tick in range(200):
        clock.now = tick / 10
        before = connects()
        result = await bus.read(1, Table.INPUT, 0, 1)
        if connects() > before:
            attempts_at.append(clock.now)
        if result is not None:
            break
    # Waits of 1, 2, 4, then capped at 4 seconds between attempts.
    assert attempts_at == [0.0, 1.0, 3.0, 7.0, 11.0]
    assert bus.connected
    assert bus.retry_at == float("-inf")
    await bus.close()


async def test_back_off_resets_after_a_successful_connect() -> None:
    calls: list[dict[str, Any]] = []
    clock = _Clock()
    outcomes = [False, True, False]
    bus = ModbusBus(
        CONFIG, clock=clock, client_factory=lambda _config: _Pymodbus38Client(outcomes, calls)
    )
    assert not await bus.connect()
    assert bus.retry_at == 1.0
    clock.now = 1.0
    assert await bus.connect()
    await bus.close()
    clock.now = 2.0
    assert not await bus.connect()
    assert bus.retry_at == 3.0  # back to the initial 1 s, not 2 s


async def test_tcp_and_rtu_over_tcp_clients_use_their_framers() -> None:
    tcp = create_client(GatewayConfig(transport=Transport.TCP, host="127.0.0.1", port=1502))
    rtu = create_client(GatewayConfig(transport=Transport.RTU_OVER_TCP, host="127.0.0.1"))
    assert isinstance(tcp.ctx.framer, FramerSocket)
    assert isinstance(rtu.ctx.framer, FramerRTU)
    assert tcp.comm_params.port == 1502
    assert not tcp.comm_params.reconnect_delay
    tcp.close()
    rtu.close()


def test_serial_client_gets_the_line_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}

    def serial_client(port: str, **kwargs: Any) -> str:
        built.update(kwargs, port=port)
        return "serial client"

    monkeypatch.setattr(bus_module, "AsyncModbusSerialClient", serial_client)
    config = GatewayConfig(
        transport=Transport.SERIAL, serial_port="/dev/ttyUSB0", baudrate=2400, parity="E"
    )
    assert create_client(config) == "serial client"
    assert built["port"] == "/dev/ttyUSB0"
    assert (built["baudrate"], built["parity"], built["bytesize"], built["stopbits"]) == (
        2400,
        "E",
        8,
        1,
    )
    assert built["reconnect_delay"] == 0
    assert config.label == "/dev/ttyUSB0"
