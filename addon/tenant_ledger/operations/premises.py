"""Spaces, metering points and what each measures; tenants moving in and out of points."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import AllocationMethod, PointKind
from tenant_ledger.billing.resources import (
    Resource,
    Unit,
    base_unit,
    default_max_per_hour,
    readings_key,
)
from tenant_ledger.db import premises_store, readings_store, rows
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.catalog import SITE_ID, Catalog
from tenant_ledger.errors import conflict, invalid, not_found
from tenant_ledger.operations.common import require, require_live


def create_space(
    connection: sa.Connection, action: Action, *, space_id: str, name: str, area_m2: Decimal | None
) -> None:
    area = None if area_m2 is None else str(area_m2)
    rows.insert_new(
        connection,
        "space",
        {"id": space_id, "site_id": SITE_ID, "name": name, "area_m2": area},
    )
    audit(connection, action, "create_space", space_id, {"name": name, "area_m2": area})


def edit_space(
    connection: sa.Connection, action: Action, *, space_id: str, name: str, area_m2: Decimal | None
) -> None:
    """Rename a room or correct its floor area (floor-area shares of periods not yet billed
    use the new area; issued statements keep theirs)."""
    if not premises_store.space_exists(connection, space_id):
        raise not_found("space", space_id)
    area = None if area_m2 is None else str(area_m2)
    rows.update(connection, "space", space_id, name=name, area_m2=area)
    audit(connection, action, "edit_space", space_id, {"name": name, "area_m2": area})


@dataclass(frozen=True, kw_only=True, slots=True)
class PointUse:
    """What a metering point measures: a tenant's supply (default), a common load or the incomer.

    A common point is priced with ``tariff_id`` and shared by ``allocation``.
    """

    kind: str | None = "tenant"
    """None: keep the point's kind (a new point is a tenant point)."""
    allocation: str | None = None
    tariff_id: str | None = None
    max_power_w: int | None = None
    """Readings implying more base units per hour (W, L/h) are quarantined; None: the
    resource's default (or unchanged)."""


def _check_use(catalog: Catalog, use: PointUse, resource: Resource) -> dict[str, Any]:
    """The point's columns ``use`` sets (kind, allocation, tariff; max power when given)."""
    power = {} if use.max_power_w is None else {"max_power_w": use.max_power_w}
    if use.kind is None:
        return power
    if use.kind not in set(PointKind):
        raise invalid(f"kind must be one of {', '.join(PointKind)}")
    if use.kind != "common":
        if use.allocation is not None or use.tariff_id is not None:
            raise invalid("allocation and tariff apply to common points only")
        return {"kind": use.kind, "allocation": None, "tariff_id": None} | power
    if use.allocation not in set(AllocationMethod):
        raise invalid(f"a common point needs allocation: {', '.join(AllocationMethod)}")
    if use.tariff_id is None:
        raise invalid("a common point needs the tariff its energy is priced with")
    require("tariff", use.tariff_id, catalog.schedules)
    if catalog.tariff_resources[use.tariff_id] is not resource:
        raise invalid(
            f"tariff {use.tariff_id} prices {catalog.tariff_resources[use.tariff_id]}, "
            f"not {resource}"
        )
    return {"kind": use.kind, "allocation": use.allocation, "tariff_id": use.tariff_id} | power


def create_point(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    point_id: str,
    name: str,
    space_id: str | None,
    use: PointUse = PointUse(),
    resource: Resource | None = None,
) -> None:
    """A new point measuring ``resource`` (which it keeps: its readings are in its unit).

    Readings may have come before the point was registered: their unit decides the resource
    when none is given (Wh: electricity; litres could be water or gas, so one must be named)
    and refuses a resource of the other unit. Otherwise the default is electricity.
    """
    if space_id is not None and not premises_store.space_exists(connection, space_id):
        raise not_found("space", space_id)
    resource = _resource_of_stored(connection, point_id, resource)
    values = {"resource": resource.value, "max_power_w": default_max_per_hour(resource)}
    values |= _check_use(catalog, use, resource)
    rows.insert_new(
        connection,
        "metering point",
        {
            "id": point_id,
            "name": name,
            "space_id": space_id,
            "created_at_us": action.now_us,
            **values,
        },
    )
    readings_store.forget_unit(connection, point_id)
    audit(
        connection, action, "create_point", point_id, {"name": name, "space_id": space_id} | values
    )


def _resource_of_stored(
    connection: sa.Connection, point_id: str, resource: Resource | None
) -> Resource:
    """The resource a new point measures, agreeing with the readings already stored for it."""
    stored = readings_store.units_seen(connection, [point_id]).get(point_id)
    if stored is None:
        return Resource.ELECTRICITY if resource is None else resource
    if resource is None:
        if stored is Unit.L:
            raise conflict(
                f"{point_id} already has readings in L (volume_l): register it as water or gas"
            )
        return Resource.ELECTRICITY
    if base_unit(resource) is not stored:
        raise conflict(
            f"{point_id} already has readings in {stored} ({readings_key(stored)}); a "
            f"{resource} point counts {base_unit(resource)} ({readings_key(base_unit(resource))})"
        )
    return resource


def set_point_use(
    connection: sa.Connection, catalog: Catalog, action: Action, *, point_id: str, use: PointUse
) -> None:
    """Mark a point tenant, common or incomer; only a point no tenant ever held may change.

    ``use.kind`` None keeps the kind and changes only ``max_power_w``.
    """
    require("metering point", point_id, catalog.points)
    values = _check_use(catalog, use, catalog.resource_of(point_id))
    if use.kind not in (None, "tenant") and catalog.by_point.get(point_id):
        raise conflict(f"{point_id} has been assigned to a tenant; it stays a tenant point")
    if not values:
        raise invalid("nothing to change: give kind or max_power_w")
    premises_store.update_point(connection, point_id, values)
    audit(connection, action, "point_use", point_id, values)


def place_point(
    connection: sa.Connection, catalog: Catalog, action: Action, *, point_id: str, space_id: str
) -> None:
    """Say which room (space) a metering point supplies, so the console can name it."""
    require("metering point", point_id, catalog.points)
    if not premises_store.space_exists(connection, space_id):
        raise not_found("space", space_id)
    premises_store.update_point(connection, point_id, {"space_id": space_id})
    audit(connection, action, "place_point", point_id, {"space_id": space_id})


def points_of_space(connection: sa.Connection, space_id: str) -> list[str]:
    if not premises_store.space_exists(connection, space_id):
        raise not_found("space", space_id)
    return premises_store.points_of_space(connection, space_id)


def _refuse_rated(connection: sa.Connection, point_id: str, at_us: int, what: str) -> None:
    rated = premises_store.rated_until(connection, point_id)
    if rated is not None and at_us < rated * 1_000_000:
        raise conflict(
            f"{what} of {point_id} before its last rated reading ({rated}) would change "
            "posted energy; use an adjustment instead"
        )


def move_in(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    point_ids: Sequence[str],
    at_us: int,
) -> None:
    """The tenant pays for ``point_ids`` from ``at_us`` on (a point named twice, once)."""
    require_live(catalog, tenant_id)
    point_ids = list(dict.fromkeys(point_ids))
    if not point_ids:
        raise invalid("move-in needs at least one metering point")
    for point_id in point_ids:
        require("metering point", point_id, catalog.points)
        kind = catalog.point_records[point_id].kind
        if kind != "tenant":
            raise conflict(f"{point_id} is a {kind} point; only tenant points can be moved into")
        for held in catalog.by_point.get(point_id, ()):
            if held.end_us > at_us:
                raise conflict(f"{point_id} is assigned to {held.tenant_id} at that time")
        _refuse_rated(connection, point_id, at_us, "a move-in")
    premises_store.assign(connection, tenant_id, point_ids, at_us)
    audit(connection, action, "move_in", tenant_id, {"points": list(point_ids), "at_us": at_us})


def move_out(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str, at_us: int
) -> list[str]:
    """End the tenant's open assignments at ``at_us``; returns the points released."""
    require_live(catalog, tenant_id)
    open_rows = premises_store.open_assignments(connection, tenant_id)
    if not open_rows:
        raise conflict(f"tenant {tenant_id} holds no metering point")
    for row in open_rows:
        if at_us <= row.start_us:
            raise conflict(f"move-out must be after the move-in of {row.point_id}")
        _refuse_rated(connection, row.point_id, at_us, "a move-out")
    premises_store.end_assignments(connection, [row.id for row in open_rows], at_us)
    points = [row.point_id for row in open_rows]
    audit(connection, action, "move_out", tenant_id, {"points": points, "at_us": at_us})
    return points
