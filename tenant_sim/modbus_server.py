"""A real pymodbus TCP server on 127.0.0.1 whose registers tests and the demo write."""

from collections.abc import Iterable, Sequence
from enum import StrEnum
from types import TracebackType
from typing import Self

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer

from tenant_sim.net import LOOPBACK, free_port

REGISTER_SPACE = 65536


class Table(StrEnum):
    """Modbus data tables, named by the function code that reads them."""

    COIL = "co"
    DISCRETE_INPUT = "di"
    HOLDING = "hr"
    INPUT = "ir"


_READ_FUNCTION_CODE = {Table.COIL: 1, Table.DISCRETE_INPUT: 2, Table.HOLDING: 3, Table.INPUT: 4}


class _CountingSlaveContext(ModbusSlaveContext):
    """A slave's register space that counts the read requests served from it."""

    def __init__(self) -> None:
        super().__init__(
            **{table.value: ModbusSequentialDataBlock(0, [0] * REGISTER_SPACE) for table in Table}
        )
        self.reads = 0

    def getValues(self, fc_as_hex: int, address: int, count: int = 1) -> list[int | bool]:  # noqa: N802
        self.reads += 1
        return list(super().getValues(fc_as_hex, address, count))


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
        self._slaves = {slave_id: _CountingSlaveContext() for slave_id in slave_ids}
        self._server: ModbusTcpServer | None = None

    @property
    def requests(self) -> int:
        """Read requests served so far, over all slaves."""
        return sum(slave.reads for slave in self._slaves.values())

    def write(self, slave_id: int, table: Table, address: int, values: Sequence[int]) -> None:
        """Set raw 16-bit registers (or 0/1 coils) starting at the 0-based ``address``."""
        self._slaves[slave_id].setValues(_READ_FUNCTION_CODE[table], address, list(values))

    def read(self, slave_id: int, table: Table, address: int, count: int) -> list[int]:
        """Raw values as a client would read them (not counted as a request)."""
        # The context stores value N at block index N + 1 (pymodbus' zero-mode offset).
        slave = self._slaves[slave_id]
        block = slave.store[slave.decode(_READ_FUNCTION_CODE[table])]
        return [int(value) for value in block.getValues(address + 1, count)]

    async def start(self) -> None:
        context = ModbusServerContext(slaves=self._slaves, single=False)
        # A slave id nobody answers for times out, as a dead meter on an RS-485 bus does.
        self._server = ModbusTcpServer(
            context,
            framer=self.framer,
            address=(self.host, self.port),
            ignore_missing_slaves=True,
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
