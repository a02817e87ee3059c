"""A real pymodbus TCP server on 127.0.0.1 whose registers tests and the demo write.

The registers live here, not in pymodbus' data blocks: pymodbus 3.13 copies data blocks into
its own simulator at start-up, so writes made afterwards would never be served. pymodbus
reaches them through one server context that speaks both of its datastore interfaces (found
by feature, not by version):

- up to 3.11 the server looks a per-device context up by id (``context[device_id]``) and asks
  it ``validate``/``async_getValues``/``async_setValues(function_code, address, …)``;
- from 3.12 it asks the server context ``async_getValues(device_id, function_code, …)``, and
  from 3.13 serves a context as it is only when it lists no ``simdevices`` to convert.
"""

from array import array
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
import inspect
from types import TracebackType
from typing import Any, Self

from pymodbus import constants, exceptions
from pymodbus.datastore import ModbusServerContext
from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer

from tenant_sim.net import LOOPBACK, free_port

REGISTER_SPACE = 65536  # addresses 0..65535 in every table


class Table(StrEnum):
    """Modbus data tables, named by the function code that reads them."""

    COIL = "co"
    DISCRETE_INPUT = "di"
    HOLDING = "hr"
    INPUT = "ir"


_READ_FUNCTION_CODE = {Table.COIL: 1, Table.DISCRETE_INPUT: 2, Table.HOLDING: 3, Table.INPUT: 4}
_TABLE_OF_FUNCTION_CODE = {
    1: Table.COIL,
    5: Table.COIL,
    15: Table.COIL,
    2: Table.DISCRETE_INPUT,
    3: Table.HOLDING,
    6: Table.HOLDING,
    16: Table.HOLDING,
    22: Table.HOLDING,
    23: Table.HOLDING,
    4: Table.INPUT,
}
_BIT_TABLES = (Table.COIL, Table.DISCRETE_INPUT)
# pymodbus ≥ 3.10 names the unknown-id error and the server option after devices, not slaves.
_NO_SUCH_DEVICE: type[Exception] = next(
    getattr(exceptions, name)
    for name in ("NoSuchIdException", "NoSuchSlaveException")
    if hasattr(exceptions, name)
)
_IGNORE_MISSING_KEYWORD = next(
    keyword
    for keyword in ("ignore_missing_devices", "ignore_missing_slaves")
    if keyword in inspect.signature(ModbusTcpServer.__init__).parameters
)
# What a ≥ 3.12 datastore returns for a request outside the register space.
_ILLEGAL_ADDRESS: Any = getattr(getattr(constants, "ExcCodes", None), "ILLEGAL_ADDRESS", None)


class _Device:
    """One device's four tables (raw 16-bit registers, coils as 0/1), counting read requests.

    Also pymodbus ≤ 3.11's per-device context (``decode``, ``validate``, ``getValues``, …).
    Requests touching an address in ``refused`` fail, as a meter's unmapped addresses do.
    """

    def __init__(self) -> None:
        self.tables = {table: array("H", [0]) * REGISTER_SPACE for table in Table}
        self.reads = 0
        self.refused: set[tuple[Table, int]] = set()

    @staticmethod
    def decode(function_code: int) -> str:
        return _TABLE_OF_FUNCTION_CODE[function_code].value

    def validate(self, function_code: int, address: int, count: int = 1) -> bool:
        table = _TABLE_OF_FUNCTION_CODE.get(function_code)
        return (
            table is not None
            and 0 <= address <= REGISTER_SPACE - count
            and not any((table, a) in self.refused for a in range(address, address + count))
        )

    def getValues(  # noqa: N802 (pymodbus' name)
        self, function_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool]:
        table = _TABLE_OF_FUNCTION_CODE[function_code]
        if function_code in _READ_FUNCTION_CODE.values():
            self.reads += 1
        values = self.tables[table][address : address + count]
        if table in _BIT_TABLES:
            return [bool(value) for value in values]
        return list(values)

    def setValues(  # noqa: N802 (pymodbus' name)
        self, function_code: int, address: int, values: Sequence[int | bool]
    ) -> None:
        self.write(_TABLE_OF_FUNCTION_CODE[function_code], address, [int(v) for v in values])

    async def async_getValues(  # noqa: N802 (pymodbus' name)
        self, function_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool]:
        if not self.validate(function_code, address, count):
            # pymodbus ≤ 3.11 does not validate coil reads and garbles the exception response
            # to an error raised here; the device stays silent instead (the client times out),
            # as a meter ignoring a request it cannot serve does. A failed read all the same.
            raise _NO_SUCH_DEVICE(f"function {function_code} {address}+{count} is refused")
        return self.getValues(function_code, address, count)

    async def async_setValues(  # noqa: N802 (pymodbus' name)
        self, function_code: int, address: int, values: Sequence[int | bool]
    ) -> None:
        self.setValues(function_code, address, values)

    def reset(self) -> None:
        for table in Table:
            self.tables[table] = array("H", [0]) * REGISTER_SPACE

    def write(self, table: Table, address: int, values: Sequence[int]) -> None:
        if not 0 <= address <= REGISTER_SPACE - len(values):
            raise ValueError(f"{table} {address}+{len(values)} is outside 0..{REGISTER_SPACE - 1}")
        self.tables[table][address : address + len(values)] = array("H", values)


class _ServerContext(ModbusServerContext):
    """Every device of the server, for either of pymodbus' datastore interfaces."""

    def __init__(self, devices: dict[int, _Device]) -> None:
        # Not ModbusServerContext.__init__: from 3.13 it converts data blocks into pymodbus'
        # simulator, and this context has none. An empty ``simdevices`` makes 3.13 serve it.
        self.devices = devices
        self.single = False
        self.simdevices: list[object] = []

    def _device(self, device_id: int) -> _Device:
        if device_id not in self.devices:
            raise _NO_SUCH_DEVICE(f"device id {device_id} does not exist")
        return self.devices[device_id]

    # pymodbus ≤ 3.11: a context per device.
    def __getitem__(self, device_id: int) -> _Device:
        return self._device(device_id)

    def __contains__(self, device_id: object) -> bool:
        return device_id in self.devices

    def __iter__(self) -> Iterator[tuple[int, _Device]]:
        return iter(self.devices.items())

    def slaves(self) -> list[int]:
        return self.device_ids()

    # pymodbus ≥ 3.12: the server context answers for a device id.
    def device_ids(self) -> list[int]:
        return list(self.devices)

    async def async_getValues(  # noqa: N802 (pymodbus' name)
        self, device_id: int, function_code: int, address: int, count: int = 1
    ) -> Any:
        device = self._device(device_id)
        if not device.validate(function_code, address, count):
            return _ILLEGAL_ADDRESS
        return device.getValues(function_code, address, count)

    async def async_setValues(  # noqa: N802 (pymodbus' name)
        self, device_id: int, function_code: int, address: int, values: Sequence[int | bool]
    ) -> Any:
        device = self._device(device_id)
        if not device.validate(function_code, address, len(values)):
            return _ILLEGAL_ADDRESS
        device.setValues(function_code, address, values)
        return None


class SimulatedModbusServer:
    """A Modbus TCP server with one register space per slave id, counting requests."""

    def __init__(
        self,
        slave_ids: Iterable[int],
        port: int | None = None,
        framer: FramerType = FramerType.SOCKET,
    ) -> None:
        """``framer=FramerType.RTU`` makes it an RS-485-to-Ethernet gateway (RTU over TCP)."""
        self.host = LOOPBACK
        self.framer = framer
        self.port = port or free_port()
        self._slaves = {slave_id: _Device() for slave_id in slave_ids}
        self._server: ModbusTcpServer | None = None

    @property
    def requests(self) -> int:
        """Read requests served so far, over all slaves."""
        return sum(slave.reads for slave in self._slaves.values())

    def write(self, slave_id: int, table: Table, address: int, values: Sequence[int]) -> None:
        """Set raw 16-bit registers (or 0/1 coils) starting at the 0-based ``address``."""
        self._slaves[slave_id].write(table, address, values)

    def refuse(self, slave_id: int, table: Table, address: int, count: int) -> None:
        """Refuse any request touching these addresses (a register the meter does not map, a
        relay that refuses commands) until ``allow_all``: "illegal data address", or silence
        for a coil read under pymodbus ≤ 3.11."""
        self._slaves[slave_id].refused.update((table, a) for a in range(address, address + count))

    def allow_all(self, slave_id: int) -> None:
        """Serve every address of ``slave_id`` again."""
        self._slaves[slave_id].refused.clear()

    def read(self, slave_id: int, table: Table, address: int, count: int) -> list[int]:
        """Raw values as a client would read them (not counted as a request)."""
        return list(self._slaves[slave_id].tables[table][address : address + count])

    async def start(self) -> None:
        # A slave id nobody answers for times out, as a dead meter on an RS-485 bus does.
        ignore_missing: dict[str, Any] = {_IGNORE_MISSING_KEYWORD: True}
        self._server = ModbusTcpServer(
            _ServerContext(self._slaves),
            framer=self.framer,
            address=(self.host, self.port),
            **ignore_missing,
        )
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
