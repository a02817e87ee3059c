"""Seeding the ledger with the demo building through its REST API, as a landlord would.

Only the public API is used (docs/ledger-contract.md, ``/api/openapi.json``), so the seed
doubles as a check that the API can set up a real building from nothing.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tenant_sim.building import HEAT_TARIFF_ID, TARIFF_ID, WATER_TARIFF_ID, Building
from tenant_sim.ledger_api import LedgerApi

ACTOR = "demo"


async def seed(api: LedgerApi, building: Building, *, move_in: datetime) -> Sequence[str]:
    """Create spaces, points (electricity circuits, water counters, the heat meter), the
    tariffs of each resource, plans and tenants; move tenants in at ``move_in``.

    Returns the tenant ids. Opening top-ups are posted by ``top_up_openings`` after the
    history is in, so the balances tell the story of the month so far.
    """
    at = move_in.isoformat()
    tariffs = (
        (TARIFF_ID, "electricity", building.tariff, "Hostel time-of-use"),
        (WATER_TARIFF_ID, "water", building.water_tariff, "Hostel cold water"),
        (HEAT_TARIFF_ID, "heat", building.heat_tariff, "Hostel hot-water heat"),
    )
    for tariff_id, resource, body, name in tariffs:
        await api.call(
            "POST",
            f"/api/tariffs/{tariff_id}/versions",
            {
                "tariff": body,
                "resource": resource,
                "effective_from": at,
                "name": name,
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
    # Each room's counter is in its room: moving in assigns it with the circuit, and the
    # tenant's statement bills it in a water section of its own.
    for meter in building.water_meters:
        await api.call(
            "POST",
            "/api/points",
            {
                "id": meter.point_id,
                "name": meter.name,
                "resource": "water",
                "space": meter.space_id,
            },
        )
    heater: dict[str, Any] = {
        "id": building.heat_meter.point_id,
        "name": building.heat_meter.name,
        "resource": "heat",
        "kind": "common",
        "allocation": "water_consumption",
        "tariff": HEAT_TARIFF_ID,
        "actor": ACTOR,
    }
    await api.call("POST", "/api/points", heater)
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
