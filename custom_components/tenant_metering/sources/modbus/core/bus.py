"""One Modbus bus (a TCP device, an RS-485 gateway, a serial port): one request at a time.

The bus owns the pymodbus client. pymodbus' own background reconnect is switched off
(``reconnect_delay=0``) so no task outlives the bus; instead a failed connection backs off
exponentially (``backoff_initial_s`` doubling up to ``backoff_max_s``) and reads during the
back-off return None at once instead of stalling every meter behind a dead gateway.
A slave that does not answer or answers with an exception makes only that read None.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
import inspect
import logging
import time
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from .profile import Table

_LOGGER = logging.getLogger(__name__)


class Transport(StrEnum):
    """How the integration reaches the bus."""

    TCP = "tcp"
    RTU_OVER_TCP = "rtu_over_tcp"
    SERIAL = "serial"


@dataclass(frozen=True, kw_only=True)
class GatewayConfig:
    """Connection settings of one bus; the gateway config entry's data."""

    transport: Transport
    host: str = ""
    port: int = 502
    serial_port: str = ""
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    timeout_s: float = 1.0
    retries: int = 1
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0

    @property
    def label(self) -> str:
        """Where the bus is, for logs."""
        if self.transport is Transport.SERIAL:
            return self.serial_port
        return f"{self.transport} {self.host}:{self.port}"


def create_client(config: GatewayConfig) -> Any:
    """A pymodbus async client for ``config`` (not yet connected, no auto-reconnect)."""
    common: dict[str, Any] = {
        "timeout": config.timeout_s,
        "retries": config.retries,
        "reconnect_delay": 0,
    }
    if config.transport is Transport.SERIAL:
        return AsyncModbusSerialClient(
            config.serial_port,
            framer=FramerType.RTU,
            baudrate=config.baudrate,
            bytesize=config.bytesize,
            parity=config.parity,
            stopbits=config.stopbits,
            **common,
        )
    framer = FramerType.RTU if config.transport is Transport.RTU_OVER_TCP else FramerType.SOCKET
    return AsyncModbusTcpClient(config.host, port=config.port, framer=framer, **common)


def unit_keyword(method: Callable[..., object]) -> str:
    """The keyword naming the slave: ``slave`` up to pymodbus 3.9, ``device_id`` after."""
    parameters = inspect.signature(method).parameters
    for keyword in ("device_id", "slave"):
        if keyword in parameters:
            return keyword
    raise TypeError(f"{method!r} takes neither device_id nor slave")


_READ_METHOD = {
    Table.HOLDING: "read_holding_registers",
    Table.INPUT: "read_input_registers",
    Table.COIL: "read_coils",
}


class ModbusBus:
    """Serialised, self-healing access to one bus; share one instance among its meters."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        client_factory: Callable[[GatewayConfig], Any] = create_client,
    ) -> None:
        self.config = config
        self._clock = clock
        self._client_factory = client_factory
        self._client: Any = None
        self._unit_keyword: str | None = None
        self._lock = asyncio.Lock()
        self._delay = config.backoff_initial_s
        self._retry_at = float("-inf")
        self._was_available = True
        self.requests = 0

    @property
    def connected(self) -> bool:
        """Whether a connection is open right now."""
        return self._client is not None and bool(self._client.connected)

    @property
    def retry_at(self) -> float:
        """Clock time before which no reconnect is attempted (-inf when not backing off)."""
        return self._retry_at

    async def connect(self) -> bool:
        """Open the connection unless backing off; the config flow's connection test."""
        async with self._lock:
            return await self._ensure_connected()

    async def close(self) -> None:
        """Close the connection; the next read reconnects."""
        async with self._lock:
            self._drop()

    async def read(self, slave: int, table: Table, address: int, count: int) -> list[int] | None:
        """``count`` registers (coils as 0/1) from ``address``, or None when the read failed."""
        reply = await self._request(_READ_METHOD[table], slave, address, count=count)
        if reply is None:
            return None
        if table is Table.COIL:
            return [int(bit) for bit in reply.bits[:count]]
        return [int(word) for word in reply.registers[:count]]

    async def write(self, slave: int, table: Table, address: int, value: int) -> bool:
        """Write one coil (0/1) or holding register; whether the slave confirmed it."""
        if table is Table.COIL:
            reply = await self._request("write_coil", slave, address, bool(value))
        else:
            reply = await self._request("write_register", slave, address, value)
        return reply is not None

    async def _request(self, method_name: str, slave: int, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            if not await self._ensure_connected():
                return None
            method = getattr(self._client, method_name)
            if self._unit_keyword is None:
                self._unit_keyword = unit_keyword(method)
            self.requests += 1
            try:
                reply = await method(*args, **kwargs, **{self._unit_keyword: slave})
            except (ModbusException, OSError, TimeoutError) as err:
                _LOGGER.debug(
                    "%s slave %s %s failed: %s", self.config.label, slave, method_name, err
                )
                if not self.connected:
                    self._back_off()
                return None
            if reply is None or reply.isError():
                _LOGGER.debug(
                    "%s slave %s %s refused: %s", self.config.label, slave, method_name, reply
                )
                return None
            return reply

    async def _ensure_connected(self) -> bool:
        if self.connected:
            return True
        if self._clock() < self._retry_at:
            return False
        self._drop()
        self._client = self._client_factory(self.config)
        if await self._client.connect() and self._client.connected:
            if not self._was_available:
                _LOGGER.info("%s is reachable again", self.config.label)
            self._was_available = True
            self._delay = self.config.backoff_initial_s
            self._retry_at = float("-inf")
            return True
        self._back_off()
        return False

    def _back_off(self) -> None:
        self._drop()
        if self._was_available:
            _LOGGER.warning("%s is unreachable; retrying with back-off", self.config.label)
        self._was_available = False
        self._retry_at = self._clock() + self._delay
        self._delay = min(self._delay * 2, self.config.backoff_max_s)

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
