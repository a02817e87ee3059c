"""Reports across the building: electricity incomer energy against the sum of the other
electricity points."""

from decimal import Decimal
from typing import Annotated, Literal, Self

from aiohttp import web
from pydantic import Field, model_validator

from tenant_ledger.api.contract import Query, Time, refuse
from tenant_ledger.api.models import Reply
from tenant_ledger.api.registry import Call, json_response, route
from tenant_ledger.billing import format_kwh
from tenant_ledger.billing.resources import Resource
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.shared_costs import electricity_incomers, losses


class Window(Query):
    start: Annotated[Time, Field(alias="from", description="start, ISO 8601 with offset")]
    end: Annotated[Time, Field(alias="to", description="end (after from), ISO 8601 with offset")]

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.end <= self.start:
            raise refuse("to must be after from")
        return self


class Losses(Reply):
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    resource: Literal["electricity"] = Field(
        description="what is compared: water, gas and heat points are never counted as losses"
    )
    incomers: list[str]
    incomer_kwh: str
    channels_kwh: str
    losses_kwh: str
    loss_ratio: str | None


@route(
    "GET",
    "/api/reports/losses",
    role="read_only",
    summary=(
        "Electricity incomer energy against the sum of all other electricity points (?from=&to= "
        "ISO 8601 with offset, to after from): positive losses are cables, unmetered loads or "
        "theft; water, gas and heat points are not counted"
    ),
    tag="reports",
    query=Window,
    response=Losses,
)
async def get_losses(call: Call) -> web.Response:
    window: Window = call.query
    start_us, end_us = window.start, window.end
    report = await call.service.read(lambda c, cat: losses(c, cat, start_us, end_us))
    ratio = report.loss_ratio
    share = None if ratio is None else Decimal(ratio.numerator) / ratio.denominator
    return json_response(
        {
            "from": from_us(start_us).isoformat(),
            "to": from_us(end_us).isoformat(),
            "resource": Resource.ELECTRICITY.value,
            "incomers": electricity_incomers(call.service.catalog),
            "incomer_kwh": format_kwh(report.incomer_wh),
            "channels_kwh": format_kwh(report.channels_wh),
            "losses_kwh": format_kwh(report.losses_wh),
            "loss_ratio": None if share is None else f"{share:.4f}",
        }
    )
