"""Who pays for what: spaces, metering points and their use, move-in and move-out."""

from typing import Annotated, Any, Literal, Self

from aiohttp import web
from pydantic import Field, model_validator
import sqlalchemy as sa

from tenant_ledger import operations as ops
from tenant_ledger.api.contract import (
    MAX_POWER_W,
    Action,
    Id,
    Name,
    NonNegativeDecimal,
    PointId,
    Reason,
    ResourceName,
    Time,
    refuse,
)
from tenant_ledger.api.models import Created, Reply, TenantState
from tenant_ledger.api.registry import Call, json_response, route
from tenant_ledger.billing.plausibility import DEFAULT_MAX_POWER_W
from tenant_ledger.db import listings
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.errors import conflict

MAX_POINTS = 1000

PointKind = Annotated[
    Literal["tenant", "common", "incomer"],
    Field(description="tenant (default), common (shared: corridor, pump, lift) or incomer"),
]
Allocation = Annotated[
    Literal["equal", "floor_area", "consumption", "water_consumption"],
    Field(
        description=(
            "common points: how the cost is shared between the tenants (consumption: by their "
            "use of the point's own resource; water_consumption: by their water use)"
        )
    ),
]
MaxPower = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_POWER_W,
        description=(
            "readings implying more base units per hour (W for Wh, L/h for litres) are "
            f"quarantined (default per resource: {DEFAULT_MAX_POWER_W} for electricity)"
        ),
    ),
]
CommonTariff = Annotated[
    Id, Field(description="common points: the (building) tariff their energy is priced with")
]

# The rule of ``PointUseFields`` for the document: a common point names its allocation and
# tariff; any other point names neither.
_USE_RULE: dict[str, Any] = {
    "if": {"properties": {"kind": {"const": "common"}}, "required": ["kind"]},
    "then": {
        "properties": {"allocation": {"type": "string"}, "tariff": {"type": "string"}},
        "required": ["allocation", "tariff"],
    },
    "else": {"properties": {"allocation": {"type": "null"}, "tariff": {"type": "null"}}},
}


class PointUseFields(Action):
    kind: PointKind | None = None
    allocation: Allocation | None = None
    tariff: CommonTariff | None = None
    max_power_w: MaxPower | None = None

    @model_validator(mode="after")
    def _common_points_name_allocation_and_tariff(self) -> Self:
        if self.kind == "common" and (self.allocation is None or self.tariff is None):
            raise refuse("a common point needs allocation and tariff")
        if self.kind != "common" and (self.allocation is not None or self.tariff is not None):
            raise refuse("allocation and tariff apply to common points (kind common) only")
        return self

    @property
    def use(self) -> ops.PointUse:
        if self.kind is None:
            # Only the maximum power: the point keeps its kind (PUT) or is a tenant point (POST).
            return ops.PointUse(kind=None, max_power_w=self.max_power_w)
        return ops.PointUse(
            kind=self.kind,
            allocation=self.allocation,
            tariff_id=self.tariff,
            max_power_w=self.max_power_w,
        )


class NewPoint(PointUseFields, json_schema_extra={"allOf": [_USE_RULE]}):
    id: Annotated[PointId, Field(description="e.g. mqtt:a4cf12ab34cd:1")]
    name: Name
    space: Id | None = None
    resource: (
        Annotated[
            ResourceName,
            Field(
                description="what it measures, for good (default: electricity, or what the "
                "unit of readings stored before it was registered allows)"
            ),
        ]
        | None
    ) = None


class PointUseChange(
    PointUseFields,
    json_schema_extra={
        "allOf": [_USE_RULE],
        "anyOf": [
            {"properties": {"kind": {"type": "string"}}, "required": ["kind"]},
            {"properties": {"max_power_w": {"type": "integer"}}, "required": ["max_power_w"]},
        ],
    },
):
    reason: Reason  # required here, as in Reasoned

    @model_validator(mode="after")
    def _something_changes(self) -> Self:
        if self.kind is None and self.max_power_w is None:
            raise refuse("nothing to change: give kind or max_power_w")
        return self


class PointUseReply(Reply):
    id: str
    kind: str
    allocation: str | None
    tariff_id: str | None
    max_power_w: int


class MoveIn(
    Action,
    json_schema_extra={
        "anyOf": [
            {"properties": {"points": {"type": "array"}}, "required": ["points"]},
            {"properties": {"space": {"type": "string"}}, "required": ["space"]},
        ]
    },
):
    points: Annotated[list[PointId], Field(min_length=1, max_length=MAX_POINTS)] | None = None
    space: Id | None = None
    at: Annotated[Time, Field(description="when; default now")] | None = None

    @model_validator(mode="after")
    def _names_points(self) -> Self:
        if self.points is None and self.space is None:
            raise refuse("move-in needs points or a space")
        return self


class MoveOut(Action):
    at: Annotated[Time, Field(description="when; default now")] | None = None


class NewSpace(Action):
    id: Id
    name: Name
    area_m2: NonNegativeDecimal | None = None


class Space(Reply):
    id: str
    site_id: str
    name: str
    area_m2: str | None


class Spaces(Reply):
    spaces: list[Space]


class Point(Reply):
    id: str
    space_id: str | None
    name: str
    created_at_us: int
    kind: str
    allocation: str | None
    tariff_id: str | None
    max_power_w: int
    resource: ResourceName


class Points(Reply):
    points: list[Point]


class Assignment(Reply):
    id: int
    tenant_id: str
    point_id: str
    start_us: int
    end_us: int | None


class Assignments(Reply):
    assignments: list[Assignment]


@route(
    "POST",
    "/api/tenants/{tenant_id}/move-in",
    role="operator",
    summary="The tenant starts paying for metering points (or a space's points)",
    tag="tenancy",
    status=201,
    body=MoveIn,
    response=TenantState,
)
async def move_in(call: Call) -> web.Response:
    tenant_id, action, body = call.tenant(), call.action, call.body
    at_us = body.at or action.now_us

    def change(connection: sa.Connection, catalog: Catalog) -> None:
        points = list(body.points or [])
        if body.space is not None:
            in_space = ops.points_of_space(connection, body.space)
            if not in_space and not points:
                raise conflict(f"space {body.space} has no metering points")
            points += in_space
        ops.move_in(connection, catalog, action, tenant_id=tenant_id, point_ids=points, at_us=at_us)

    await call.service.write(change, affects=[tenant_id], catalog_changed=True)
    return call.state(tenant_id, 201)


@route(
    "POST",
    "/api/tenants/{tenant_id}/move-out",
    role="operator",
    summary="The tenant stops paying for all its points",
    tag="tenancy",
    body=MoveOut,
    response=TenantState,
)
async def move_out(call: Call) -> web.Response:
    tenant_id, action = call.tenant(), call.action
    at_us = call.body.at or action.now_us
    await call.service.write(
        lambda c, cat: ops.move_out(c, cat, action, tenant_id=tenant_id, at_us=at_us),
        affects=[tenant_id],
        catalog_changed=True,
    )
    return call.state(tenant_id)


@route("GET", "/api/spaces", role="read_only", summary="Spaces", tag="tenancy", response=Spaces)
async def list_spaces(call: Call) -> web.Response:
    return json_response({"spaces": await call.service.read(lambda c, _: listings.spaces_rows(c))})


@route(
    "POST",
    "/api/spaces",
    role="admin",
    summary="Create a space (room, stall, pitch)",
    tag="tenancy",
    status=201,
    body=NewSpace,
    response=Created,
)
async def create_space(call: Call) -> web.Response:
    action, body = call.action, call.body
    await call.service.write(
        lambda c, _cat: ops.create_space(
            c, action, space_id=body.id, name=body.name, area_m2=body.area_m2
        )
    )
    return json_response({"id": body.id}, 201)


@route(
    "GET",
    "/api/points",
    role="read_only",
    summary="Metering points",
    tag="tenancy",
    response=Points,
)
async def list_points(call: Call) -> web.Response:
    return json_response({"points": await call.service.read(lambda c, _: listings.point_rows(c))})


@route(
    "POST",
    "/api/points",
    role="admin",
    summary="Register a metering point by its stable id",
    tag="tenancy",
    status=201,
    body=NewPoint,
    response=Created,
)
async def create_point(call: Call) -> web.Response:
    action, body = call.action, call.body
    await call.service.write(
        lambda c, cat: ops.create_point(
            c,
            cat,
            action,
            point_id=body.id,
            name=body.name,
            space_id=body.space,
            use=body.use,
            resource=body.resource,
        ),
        catalog_changed=True,
    )
    return json_response({"id": body.id}, 201)


@route(
    "PUT",
    "/api/points/{point_id}/use",
    role="admin",
    summary="Mark a point tenant, common (with allocation and tariff) or incomer",
    tag="tenancy",
    body=PointUseChange,
    response=PointUseReply,
)
async def set_point_use(call: Call) -> web.Response:
    action, body, point_id = call.action, call.body, call.param("point_id")
    await call.service.write(
        lambda c, cat: ops.set_point_use(c, cat, action, point_id=point_id, use=body.use),
        catalog_changed=True,
    )
    record = call.service.catalog.point_records[point_id]
    return json_response(
        {
            "id": point_id,
            "kind": record.kind,
            "allocation": record.allocation,
            "tariff_id": record.tariff_id,
            "max_power_w": record.max_power_w,
        }
    )


@route(
    "GET",
    "/api/assignments",
    role="read_only",
    summary="Who held which point when",
    tag="tenancy",
    response=Assignments,
)
async def list_assignments(call: Call) -> web.Response:
    found = await call.service.read(lambda c, _: listings.assignment_rows(c))
    return json_response({"assignments": found})
