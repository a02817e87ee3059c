"""Tariffs (versioned, effective from an instant) and the prepaid and postpaid plans."""

from decimal import Decimal
import json
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from tenant_ledger import operations as ops
from tenant_ledger.api.contract import (
    MAX_INTEGER,
    Action,
    Body,
    Id,
    Name,
    NonNegativeAmount,
    Reasoned,
    ResourceName,
    SignedAmount,
    Time,
)
from tenant_ledger.api.models import Created, Reply
from tenant_ledger.api.registry import Call, json_response, route
from tenant_ledger.billing import PlanKind, Quota
from tenant_ledger.billing.money import to_minor
from tenant_ledger.billing.resources import Resource
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import listings
from tenant_ledger.db.catalog import PlanSettings, ResourceTariff

QUOTA_KWH_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,3})?$"
RATE_PATTERN = r"^[0-9]{1,6}(\.[0-9]{1,12})?$"
Days = Annotated[int, Field(ge=0, le=MAX_INTEGER)]


class TariffVersion(Reasoned):
    tariff: Annotated[dict[str, Any], Field(description="the billing engine's tariff JSON")]
    effective_from: Time
    name: Name | None = None
    resource: (
        Annotated[
            ResourceName,
            Field(description="what it prices, per kWh or m³ (a new tariff: electricity)"),
        ]
        | None
    ) = None


class TariffCreated(Reply):
    tariff_id: str


class StoredTariffVersion(Reply):
    tariff_id: str
    resource: ResourceName
    effective_from: str
    tariff: dict[str, Any]


class TariffVersions(Reply):
    versions: list[StoredTariffVersion]


QuotaAmount = Annotated[
    str, Field(pattern=QUOTA_KWH_PATTERN, description="included per period, in kWh or m³")
]
OverageRate = Annotated[
    str, Field(pattern=RATE_PATTERN, description="price per unit above the quota; none: a cap")
]
OtherResource = Literal["water", "gas", "heat"]


class PlanResource(Body):
    """How a plan bills a resource other than electricity."""

    tariff: Annotated[Id, Field(description="a tariff of that resource")]
    quota: QuotaAmount | None = None
    quota_overage_rate: OverageRate | None = None


class NewPlan(Action):
    id: Id
    name: Name
    kind: Literal["prepaid", "postpaid"]
    tariff: Id
    low_balance_threshold: SignedAmount | None = None
    credit_limit: NonNegativeAmount | None = None
    reconnect_minimum: SignedAmount | None = None
    billing_day: Annotated[int, Field(ge=1, le=28)] | None = None
    due_days: Days | None = None
    grace_days: Days | None = None
    quota_kwh: Annotated[str, Field(pattern=QUOTA_KWH_PATTERN)] | None = None
    quota_overage_rate: Annotated[str, Field(pattern=RATE_PATTERN)] | None = None
    resources: Annotated[
        dict[OtherResource, PlanResource],
        Field(description="the tariff (and quota) of each other resource the plan bills"),
    ] = {}  # noqa: RUF012 (pydantic copies each default)


class PlanResourceReply(Reply):
    tariff_id: str
    quota: str | None
    quota_overage_rate: str | None


class Plan(Reply):
    id: str
    name: str
    kind: str
    tariff_id: str
    low_balance_threshold_minor: int
    credit_limit_minor: int
    reconnect_minimum_minor: int
    billing_day: int
    due_days: int
    grace_days: int
    quota_kwh: str | None
    quota_overage_rate: str | None
    resources: dict[OtherResource, PlanResourceReply]


class Plans(Reply):
    plans: list[Plan]


@route(
    "GET",
    "/api/tariffs",
    role="read_only",
    summary="Tariff versions",
    tag="tariffs",
    response=TariffVersions,
)
async def list_tariffs(call: Call) -> web.Response:
    found = await call.service.read(lambda c, _cat: listings.tariff_version_rows(c))
    return json_response(
        {
            "versions": [
                {
                    "tariff_id": row["tariff_id"],
                    "resource": row["resource"],
                    "effective_from": from_us(row["effective_from_us"]).isoformat(),
                    "tariff": json.loads(row["body"]),
                }
                for row in found
            ]
        }
    )


@route(
    "POST",
    "/api/tariffs/{tariff_id}/versions",
    role="admin",
    summary=(
        "Add a tariff version in force from effective_from (creates the tariff); a tariff the "
        "billing engine cannot read is refused with invalid_tariff naming the field"
    ),
    tag="tariffs",
    status=201,
    body=TariffVersion,
    response=TariffCreated,
)
async def add_tariff_version(call: Call) -> web.Response:
    tariff_id, action, body = call.param("tariff_id"), call.action, call.body
    await call.service.write(
        lambda c, cat: ops.add_tariff_version(
            c,
            cat,
            action,
            tariff_id=tariff_id,
            name=body.name,
            body=body.tariff,
            effective_from_us=body.effective_from,
            resource=body.resource,
        ),
        affects=None,
        catalog_changed=True,
    )
    return json_response({"tariff_id": tariff_id}, 201)


@route("GET", "/api/plans", role="read_only", summary="Plans", tag="tariffs", response=Plans)
async def list_plans(call: Call) -> web.Response:
    return json_response({"plans": await call.service.read(lambda c, _: listings.plan_rows(c))})


@route(
    "POST",
    "/api/plans",
    role="admin",
    summary="Create a prepaid or postpaid plan",
    tag="tariffs",
    status=201,
    body=NewPlan,
    response=Created,
)
async def create_plan(call: Call) -> web.Response:
    body: NewPlan = call.body
    action = call.action
    defaults, currency = call.service.config.plan_defaults, call.service.catalog.currency

    def amount(value: int | None, default: str) -> int:
        # The add-on's defaults are exact decimals: whole minor units in every currency.
        return to_minor(Decimal(default), currency) if value is None else value

    plan = PlanSettings(
        id=body.id,
        name=body.name,
        kind=PlanKind(body.kind),
        tariff_id=body.tariff,
        low_balance_minor=amount(body.low_balance_threshold, defaults.low_balance_threshold),
        credit_limit_minor=amount(body.credit_limit, "0"),
        reconnect_minimum_minor=amount(body.reconnect_minimum, defaults.reconnect_minimum),
        billing_day=1 if body.billing_day is None else body.billing_day,
        due_days=14 if body.due_days is None else body.due_days,
        grace_days=defaults.grace_days if body.grace_days is None else body.grace_days,
        quota=_quota(body.quota_kwh, body.quota_overage_rate),
        others={
            Resource(name): ResourceTariff(
                tariff_id=slot.tariff, quota=_quota(slot.quota, slot.quota_overage_rate)
            )
            for name, slot in body.resources.items()
        },
    )
    await call.service.write(
        lambda c, cat: ops.create_plan(c, cat, action, plan), catalog_changed=True
    )
    return json_response({"id": plan.id}, 201)


def _quota(amount: str | None, overage_rate: str | None) -> Quota | None:
    """A quota given in the billing unit (kWh, m³), in whole base units (Wh, L)."""
    if amount is None:
        return None
    return Quota(
        included_wh=int(Decimal(amount) * 1000),
        overage_rate=None if overage_rate is None else Decimal(overage_rate),
    )
