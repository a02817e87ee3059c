"""A small async client for the ledger's REST API (bearer token), used by the demo, the tests
and the benchmarks alike."""

from collections.abc import Iterable
from typing import Any, Self

import aiohttp

from tenant_sim.registers import Reading


class LedgerApiError(RuntimeError):
    """The ledger refused a call; the message names the call and the ledger's answer."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {body[:300]}")
        self.status = status
        self.body = body


class LedgerApi:
    """One HTTP session to the ledger; an async context manager."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            headers=self._headers, timeout=aiohttp.ClientTimeout(total=120)
        )
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self, method: str, path: str, body: Any = None, *, expect: int | None = None
    ) -> Any:
        """The reply's JSON; ``LedgerApiError`` on an error status, or on any status but
        ``expect`` when given."""
        assert self._session is not None, "use LedgerApi as an async context manager"
        async with self._session.request(method, self.base_url + path, json=body) as reply:
            text = await reply.text()
            refused = reply.status >= 400 if expect is None else reply.status != expect
            if refused:
                raise LedgerApiError(method, path, reply.status, text)
            return await reply.json(content_type=None)

    async def tenants(self) -> list[dict[str, Any]]:
        reply: dict[str, list[dict[str, Any]]] = await self.call("GET", "/api/tenants")
        return reply["tenants"]

    async def counters(self) -> dict[str, int]:
        reply: dict[str, dict[str, int]] = await self.call("GET", "/api/stats")
        return reply["counters"]

    async def post_readings(self, readings: Iterable[Reading]) -> None:
        await self.call("POST", "/api/readings", readings_body(readings))


def readings_body(readings: Iterable[Reading]) -> dict[str, Any]:
    """The readings payload of docs/ledger-contract.md (MQTT topic and POST /api/readings),
    version 2: each reading's register in Wh (``energy_wh``) or litres (``volume_l``)."""
    return {
        "v": 2,
        "readings": [
            {"point": reading.point_id, "ts": reading.ts, **dict([reading.register])}
            for reading in readings
        ],
    }
