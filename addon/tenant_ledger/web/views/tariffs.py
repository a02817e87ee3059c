"""Tariffs: the versions in force, an editor that explains what is wrong, and a bill preview.

Validation is the billing engine's own ``parse_tariff``, so the editor's messages name the
field exactly as the API and the rater would refuse it. The preview rates one month with the
draft tariff: a synthetic, evenly spread consumption or a tenant's actual readings.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
import json
import re
from typing import Any

from aiohttp import web

from tenant_ledger import operations as ops
from tenant_ledger.billing import (
    Interval,
    Tariff,
    TariffError,
    TariffSchedule,
    consumption,
    decode_json,
    format_kwh,
    occupancy,
    parse_tariff,
    price,
    rate,
    tenant_intervals,
)
from tenant_ledger.billing.resources import RESOURCES, Resource, billing_unit
from tenant_ledger.billing.tariffs import WEEKDAYS
from tenant_ledger.billing.timestamps import from_us, to_epoch, to_us
from tenant_ledger.db import tariffs_store
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.statement_inputs import readings_around
from tenant_ledger.errors import LedgerError
from tenant_ledger.web import forms, tariff_form
from tenant_ledger.web.context import Page, Web, redirect
from tenant_ledger.web.plan_view import plan_rows
from tenant_ledger.web.statements import Row, charge_rows
from tenant_ledger.web.tariff_view import band_rows

SYNTHETIC_WH = 300_000
"""The synthetic preview month: 300 kWh (or m³) spread evenly over every minute."""
_TARIFF_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SAMPLE = {
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "energy": {"type": "flat", "rate": "0.30"},
    "standing_charge_per_day": "0.20",
    "tax_rate": "0.19",
}


@dataclass(frozen=True, kw_only=True)
class Preview:
    title: str
    energy_kwh: str
    unit: str
    rows: list[Row]
    net: str
    tax: str
    total: str
    total_minor: int


def _last_month(catalog: Catalog, now_us: int) -> tuple[datetime, datetime]:
    """The last whole calendar month in the building's time zone."""
    today = from_us(now_us).astimezone(catalog.zone).date()
    end_day = today.replace(day=1)
    start_day = (end_day - timedelta(days=1)).replace(day=1)
    return (
        datetime.combine(start_day, time(), tzinfo=catalog.zone),
        datetime.combine(end_day, time(), tzinfo=catalog.zone),
    )


async def _preview(web_ui: Web, tariff: Tariff, resource: Resource, tenant_id: str) -> Preview:
    """A past month rated with ``tariff`` pricing ``resource``: a tenant's meters of it, or
    synthetic usage."""
    service, catalog = web_ui.service, web_ui.service.catalog
    start, end = _last_month(catalog, service.clock())
    schedule = TariffSchedule.single(tariff)
    unit = billing_unit(resource)
    if tenant_id in catalog.tenants:
        points = {
            item.point_id
            for item in catalog.assignments
            if item.tenant_id == tenant_id and catalog.resource_of(item.point_id) is resource
        }
        found = await service.read(
            lambda c, _cat: readings_around(c, points, to_epoch(start), to_epoch(end))
        )
        intervals = tenant_intervals(
            consumption(found), catalog.assignments, tenant_id, start=start, end=end
        )
        occupied = occupancy(catalog.assignments, tenant_id, start=start, end=end)
        slot = catalog.plan_of(tenant_id).tariff_for(resource)
        quota = None if slot is None else slot.quota
        title = f"{catalog.tenants[tenant_id].name}'s {resource}"
    else:
        intervals = [
            Interval(
                point_id="synthetic",
                start_us=to_us(start),
                end_us=to_us(end),
                energy_wh=SYNTHETIC_WH,
            )
        ]
        occupied, quota = None, None
        title = f"{format_kwh(SYNTHETIC_WH)} {unit} spread evenly"
    rating = rate(intervals, schedule, start=start, end=end, occupied=occupied, quota=quota)
    charges = price([*rating.energy_lines, *rating.standing_lines], tariff.currency)
    return Preview(
        title=f"{title}, {start:%B %Y}",
        energy_kwh=format_kwh(rating.energy_wh),
        unit=unit,
        rows=charge_rows(charges),
        net=str(charges.net),
        tax=str(charges.tax),
        total=str(charges.total),
        total_minor=charges.total.minor,
    )


def _form_values(catalog: Catalog, editing: str, body: str | None) -> dict[str, str]:
    """The editor's fields: from the tariff's newest version when starting from it."""
    schedule = catalog.schedules.get(editing)
    tariff = schedule.versions[-1].tariff if schedule else parse_tariff(_SAMPLE)
    resource = catalog.tariff_resources[editing] if schedule else Resource.ELECTRICITY
    return {
        "tariff_id": editing,
        "resource": resource.value,
        "body": json.dumps(json.loads(body) if body else _SAMPLE, indent=2),
        "effective_from": "",
        "name": "",
        "reason": "",
        "tenant": "",
    } | tariff_form.fields_of(tariff)


async def _render(web_ui: Web, page: Page, status: int = 200, **context: Any) -> web.Response:
    catalog = web_ui.service.catalog

    bodies = await web_ui.service.read(lambda c, _catalog: tariffs_store.latest_bodies(c))
    editing = page.query("edit")
    # What was typed when a form comes back, else the editor's starting point.
    values = context.pop("values", None) or _form_values(catalog, editing, bodies.get(editing))
    tariffs = [
        {
            "id": tariff_id,
            "resource": catalog.tariff_resources[tariff_id].value,
            "versions": [
                {
                    "from": f"{version.effective_from.astimezone(catalog.zone):%Y-%m-%d %H:%M}",
                    "bands": band_rows(
                        version.tariff, None, billing_unit(catalog.tariff_resources[tariff_id])
                    ),
                    "tariff": version.tariff,
                }
                for version in reversed(schedule.versions)
            ],
        }
        for tariff_id, schedule in sorted(catalog.schedules.items())
    ]
    return web_ui.render(
        page,
        "tariffs.html",
        status,
        tariffs=tariffs,
        plans=plan_rows(list(catalog.plans.values())),
        tenants={tenant_id: record.name for tenant_id, record in catalog.tenants.items()},
        weekdays=WEEKDAYS,
        resources=RESOURCES,
        units={resource.value: billing_unit(resource) for resource in Resource},
        # A tariff prices one resource for good: an existing one's is shown, not offered.
        fixed_resource=catalog.tariff_resources.get(values.get("tariff_id", "")),
        unit=_unit(catalog, values),
        rows={
            "tiers": range(tariff_form.TIER_ROWS),
            "bands": range(tariff_form.BAND_ROWS),
            "windows": range(tariff_form.WINDOW_ROWS),
        },
        values=values,
        **({"errors": {}, "preview": None, "old_preview": None} | context),
    )


async def tariffs(web_ui: Web, page: Page) -> web.StreamResponse:
    return await _render(web_ui, page)


def _unit(catalog: Catalog, values: dict[str, str]) -> str:
    """The billing unit the editor's prices are in: the tariff's own resource's, or the one
    chosen for a new tariff (kWh while nothing valid is chosen)."""
    fixed = catalog.tariff_resources.get(values.get("tariff_id", ""))
    chosen = values.get("resource", "")
    if fixed is None and chosen in RESOURCES:
        return billing_unit(Resource(chosen))
    return billing_unit(fixed or Resource.ELECTRICITY)


def _resource(catalog: Catalog, tariff_id: str, chosen: str) -> Resource:
    """The resource the tariff prices: an existing tariff's own (fixed at its creation), or
    the one chosen for a new tariff (none chosen: electricity, as in the API)."""
    fixed = catalog.tariff_resources.get(tariff_id)
    if fixed is None:
        return Resource(forms.choice("resource", chosen or "electricity", RESOURCES, "resource"))
    if chosen not in ("", fixed.value):
        raise forms.FormError(
            "resource",
            f"Tariff {tariff_id} prices {fixed} for good; give a new tariff id for another "
            "resource.",
        )
    return fixed


def _parse(body: str) -> tuple[Any, Tariff]:
    try:
        document = decode_json(body)
    except json.JSONDecodeError as err:
        message = f"Not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}."
        raise forms.FormError("body", message) from None
    try:
        return document, parse_tariff(document)
    except TariffError as err:
        where = f"{err.path}: " if err.path else ""
        raise forms.FormError("body", f"{where}{err.message}") from None


def _draft(web_ui: Web, page: Page) -> tuple[Any, Tariff]:
    """The tariff document and its parsed tariff, from the fields or (advanced) the JSON."""
    if page.field("energy") in ("", "json"):
        return _parse(page.field("body"))
    catalog = web_ui.service.catalog
    try:
        document = tariff_form.document(
            page.field,
            lambda name: [str(day) for day in page.form.getall(name, [])] if page.form else [],
            catalog.currency,
            catalog.zone.key,
        )
    except tariff_form.FieldError as err:
        raise forms.FormError(err.field, err.message) from None
    try:
        return document, parse_tariff(document)
    except TariffError as err:
        field = tariff_form.field_of(err.path)
        where = "" if field else f"{err.path}: "
        raise forms.FormError(field, f"{where}{err.message}") from None


def _posted_values(page: Page) -> dict[str, str]:
    """What was typed, to show again (a window's days comma-separated)."""
    if page.form is None:
        return {}
    return {
        name: ",".join(str(value) for value in page.form.getall(name))
        for name in page.form
        if isinstance(page.form[name], str)
    }


async def submit_tariff(web_ui: Web, page: Page) -> web.StreamResponse:
    """Preview or save a tariff version, depending on the button pressed."""
    values = {
        name: page.field(name)
        for name in ("tariff_id", "resource", "name", "effective_from", "reason", "body", "tenant")
    } | _posted_values(page)
    catalog = web_ui.service.catalog
    try:
        resource = _resource(catalog, values["tariff_id"], values["resource"])
        document, tariff = _draft(web_ui, page)
        if page.field("do") != "save":
            preview = await _preview(web_ui, tariff, resource, values["tenant"])
            current = catalog.schedules.get(values["tariff_id"])
            old_preview = (
                None
                if current is None
                else await _preview(web_ui, current.versions[-1].tariff, resource, values["tenant"])
            )
            return await _render(
                web_ui, page, values=values, errors={}, preview=preview, old_preview=old_preview
            )
        if not _TARIFF_ID.fullmatch(values["tariff_id"]):
            raise forms.FormError("tariff_id", "Use 1-64 letters, digits, - or _.")
        effective_us = forms.local_time("effective_from", values["effective_from"], catalog.zone)
        action = web_ui.action(page, forms.text("reason", values["reason"]))
        await web_ui.service.write(
            lambda c, cat: ops.add_tariff_version(
                c,
                cat,
                action,
                tariff_id=values["tariff_id"],
                name=values["name"] or None,
                body=document,
                effective_from_us=effective_us,
                resource=resource,
            ),
            affects=None,
            catalog_changed=True,
        )
    except forms.FormError as err:
        return await _render(web_ui, page, 400, values=values, errors={err.field: err.message})
    except LedgerError as err:
        return await _render(web_ui, page, 400, values=values, errors={"": err.message})
    raise redirect(page, "/tariffs", done="tariff")
