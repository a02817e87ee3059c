"""Seeding the ledger with the demo building through its REST API, as a landlord would.

Only the public API is used (docs/ledger-contract.md, ``/api/openapi.json``), so the seed
doubles as a check that the API can set up a real building from nothing.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tenant_sim.building import (
    HEAT_TARIFF_ID,
    TARIFF_ID,
    WATER_TARIFF_ID,
    Building,
    WaterMeter,
)
from tenant_sim.ledger_api import LedgerApi

ACTOR = "demo"


async def seed(
    api: LedgerApi, building: Building, *, move_in: datetime, water: bool = True
) -> Sequence[str]:
    """Create spaces, points (electricity circuits, water counters, the heat meter), the
    tariffs of each resource, plans and tenants; move tenants in at ``move_in``.

    ``water=False`` leaves the water counters out: Home Assistant will adopt them, and they
    are registered under its point ids (``register_water_points``) once it knows them.
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
    if water:
        for meter in building.water_meters:
            await _water_point(api, meter, meter.point_id)
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


async def _water_point(api: LedgerApi, meter: WaterMeter, point_id: str) -> None:
    await api.call(
        "POST",
        "/api/points",
        {"id": point_id, "name": meter.name, "resource": "water", "space": meter.space_id},
    )


async def register_water_points(
    api: LedgerApi, building: Building, points: Mapping[str, str], *, move_in: datetime
) -> None:
    """Register each room's water counter under its ledger point id (``points``: the
    counter's point id in the building → the id to register, e.g. the ``ha:…`` id Home
    Assistant adopted it as), in its room, held by the room's tenant since ``move_in``."""
    tenants = {tenant.space_id: tenant.tenant_id for tenant in building.tenants}
    for meter in building.water_meters:
        point_id = points[meter.point_id]
        await _water_point(api, meter, point_id)
        await api.call(
            "POST",
            f"/api/tenants/{tenants[meter.space_id]}/move-in",
            {
                "points": [point_id],
                "at": move_in.isoformat(),
                "reason": "water counter registered",
                "actor": ACTOR,
            },
        )


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
