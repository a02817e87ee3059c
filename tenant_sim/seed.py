"""Seeding the ledger with the demo building through its REST API, as a landlord would.

Only the public API is used (docs/ledger-contract.md, ``/api/openapi.json``), so the seed
doubles as a check that the API can set up a real building from nothing.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Self

import aiohttp

from tenant_sim.building import TARIFF_ID, Building
from tenant_sim.registers import CircuitReading

ACTOR = "demo"


class LedgerApiError(RuntimeError):
    """The ledger refused a call; the message names the call and the ledger's answer."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {body[:300]}")
        self.status = status
        self.body = body


class LedgerApi:
    """A small client for the ledger's REST API (bearer token)."""

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

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        assert self._session is not None, "use LedgerApi as an async context manager"
        async with self._session.request(method, self.base_url + path, json=body) as reply:
            text = await reply.text()
            if reply.status >= 400:
                raise LedgerApiError(method, path, reply.status, text)
            return await reply.json(content_type=None)

    async def tenants(self) -> list[dict[str, Any]]:
        reply: dict[str, list[dict[str, Any]]] = await self.call("GET", "/api/tenants")
        return reply["tenants"]

    async def counters(self) -> dict[str, int]:
        reply: dict[str, dict[str, int]] = await self.call("GET", "/api/stats")
        return reply["counters"]

    async def post_readings(self, readings: Iterable[CircuitReading]) -> None:
        await self.call("POST", "/api/readings", readings_body(readings))


def readings_body(readings: Iterable[CircuitReading]) -> dict[str, list[dict[str, Any]]]:
    """The readings payload of docs/ledger-contract.md (MQTT topic and POST /api/readings)."""
    return {
        "readings": [
            {"point": reading.point_id, "ts": reading.ts, "energy_wh": reading.energy_wh}
            for reading in readings
        ]
    }


async def seed(api: LedgerApi, building: Building, *, move_in: datetime) -> Sequence[str]:
    """Create spaces, points, the tariff, plans and tenants; move tenants in at ``move_in``.

    Returns the tenant ids. Opening top-ups are posted by ``top_up_openings`` after the
    history is in, so the balances tell the story of the month so far.
    """
    at = move_in.isoformat()
    await api.call(
        "POST",
        f"/api/tariffs/{TARIFF_ID}/versions",
        {
            "tariff": building.tariff,
            "effective_from": at,
            "name": "Hostel time-of-use",
            "reason": "demo building",
            "actor": ACTOR,
        },
    )
    for plan in building.plans:
        await api.call("POST", "/api/plans", {**plan, "actor": ACTOR})
    for circuit in building.circuits:
        if circuit.space_id is not None:
            await api.call(
                "POST",
                "/api/spaces",
                {"id": circuit.space_id, "name": circuit.name, "area_m2": str(circuit.area_m2)},
            )
        await api.call(
            "POST",
            "/api/points",
            {"id": circuit.point_id, "name": circuit.name, "space": circuit.space_id},
        )
    for tenant in building.tenants:
        await api.call(
            "POST",
            "/api/tenants",
            {"id": tenant.tenant_id, "name": tenant.name, "plan": tenant.plan_id, "actor": ACTOR},
        )
        await api.call(
            "POST",
            f"/api/tenants/{tenant.tenant_id}/move-in",
            {"space": tenant.space_id, "at": at, "reason": "moved in", "actor": ACTOR},
        )
    return [tenant.tenant_id for tenant in building.tenants]


async def top_up_openings(api: LedgerApi, building: Building) -> None:
    """Post each tenant's opening payment (a prepaid tenant's first credit)."""
    for tenant in building.tenants:
        if tenant.opening_top_up != "0.00":
            await api.call(
                "POST",
                f"/api/tenants/{tenant.tenant_id}/topups",
                {"amount": tenant.opening_top_up, "reason": "cash at the desk", "actor": ACTOR},
            )


async def create_token(api: LedgerApi, name: str, role: str) -> str:
    """A new API token (shown once by the ledger)."""
    reply: dict[str, str] = await api.call(
        "POST", "/api/tokens", {"name": name, "role": role, "actor": ACTOR}
    )
    return reply["token"]


async def link_ha_users(api: LedgerApi, links: Mapping[str, tuple[str, str]]) -> None:
    """Link HA users to tenants (tenant id → (HA user id, label)): their private portal.

    A ledger without ``POST /api/tenants/{id}/ha-users`` (older than the links API) raises
    ``LinksUnavailableError``.
    """
    for tenant_id, (user_id, label) in links.items():
        try:
            await api.call(
                "POST",
                f"/api/tenants/{tenant_id}/ha-users",
                {"user_id": user_id, "label": label, "actor": ACTOR},
            )
        except LedgerApiError as err:
            if err.status == 405 or (err.status == 404 and tenant_id not in err.body):
                raise LinksUnavailableError from None
            raise


class LinksUnavailableError(RuntimeError):
    """The ledger has no API to link HA users to tenants."""

    def __init__(self) -> None:
        super().__init__("not available in this ledger")
