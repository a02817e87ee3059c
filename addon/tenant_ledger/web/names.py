"""What the console calls things: tenant, room and meter names, with ids only as secondary text."""

from dataclasses import dataclass

import sqlalchemy as sa

from tenant_ledger.db import listings
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.web.context import Web


@dataclass(frozen=True, kw_only=True)
class Names:
    tenants: dict[str, str]
    rooms: dict[str, str]
    """Space id -> name."""
    points: dict[str, str]
    """Point id -> "Room · meter" (or the meter's name when it is in no room)."""

    def point(self, point_id: str) -> str:
        return self.points.get(point_id, point_id)


def _names(connection: sa.Connection, catalog: Catalog) -> Names:
    rooms = {row["id"]: str(row["name"]) for row in listings.spaces_rows(connection)}
    points = {}
    for record in catalog.point_records.values():
        meter = record.name or record.id
        room = rooms.get(record.space_id or "")
        points[record.id] = meter if room is None or room == meter else f"{room} · {meter}"
    tenants = {tenant_id: record.name for tenant_id, record in catalog.tenants.items()}
    return Names(tenants=tenants, rooms=rooms, points=points)


async def names(web_ui: Web) -> Names:
    return await web_ui.service.read(_names)
