"""Metering points and the move-in / move-out wizard.

The wizard records the meter registers read on the day as readings at the move instant first,
then changes the assignment: the outgoing tenant is billed up to exactly that register and the
incoming one from it, with no estimate in between.
"""

from typing import Any

from aiohttp import web

from tenant_ledger import operations as ops
from tenant_ledger.billing.night_flow import NightWindow
from tenant_ledger.billing.resources import (
    RESOURCES,
    Resource,
    base_unit,
    billing_unit,
    format_usage,
)
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import leak_store
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.queries import point_rows
from tenant_ledger.errors import LedgerError
from tenant_ledger.operations import leaks
from tenant_ledger.readings_in import IncomingReading
from tenant_ledger.web import forms
from tenant_ledger.web.context import Page, Web, redirect
from tenant_ledger.web.names import names

MAX_MINIMUM_PER_HOUR = 10**9
DEFAULT_WATCH = {"window_start": "23:00", "window_end": "05:00", "minimum_per_hour": "8"}
"""A leak watch as the forms offer it: the night 23:00-05:00, at least 8 L every hour (a
running toilet or a dripping tap; a household uses next to nothing then)."""


def _holders(web_ui: Web, now_us: int) -> dict[str, str]:
    """Point id -> tenant id holding it now."""
    return {
        item.point_id: item.tenant_id
        for item in web_ui.service.catalog.assignments
        if item.start_us <= now_us < item.end_us
    }


def _free(web_ui: Web, now_us: int) -> list[str]:
    """The rooms' meters a tenant may move into: tenant points nobody holds now or later
    (never the incomer or a common load)."""
    taken = {item.point_id for item in web_ui.service.catalog.assignments if item.end_us > now_us}
    return [
        point.id
        for point in web_ui.service.catalog.points_of_kind("tenant")
        if point.id not in taken
    ]


async def points(web_ui: Web, page: Page) -> web.StreamResponse:
    return await _points_page(web_ui, page)


async def _points_page(
    web_ui: Web, page: Page, status: int = 200, refusal: forms.Refusal = forms.NO_REFUSAL
) -> web.Response:
    catalog, now_us = web_ui.service.catalog, web_ui.service.clock()
    holders = _holders(web_ui, now_us)
    rows = await web_ui.service.read(lambda c, _cat: point_rows(c))
    watches = await web_ui.service.read(lambda c, _cat: leak_store.watches(c))
    known = await names(web_ui)
    return web_ui.render(
        page,
        "points.html",
        status,
        watches={watch.point_id: leaks.watch_payload(watch) for watch in watches},
        watchable=sorted(
            p for p in catalog.point_records if catalog.resource_of(p) in leaks.LEAKING
        ),
        default_watch=DEFAULT_WATCH,
        resources=[(resource.value, billing_unit(resource)) for resource in Resource],
        rooms=sorted(known.rooms.items(), key=lambda item: item[1].lower()),
        errors=refusal.errors,
        # A new meter is electricity; a water one is watched with the default night.
        values={"point.resource": Resource.ELECTRICITY.value, "point.watch": "on"}
        | {f"point.{name}": value for name, value in DEFAULT_WATCH.items()}
        | dict(refusal.values),
        points=[
            {
                "row": row,
                "room": known.rooms.get(catalog.point_records[row.point_id].space_id or "", "")
                if row.point_id in catalog.point_records
                else "",
                "kind": catalog.point_records[row.point_id].kind
                if row.point_id in catalog.point_records
                else "",
                "resource": row.resource,
                "unit": billing_unit(row.resource),
                "base_unit": base_unit(row.resource),
                "holder": holders.get(row.point_id),
                "last": ""
                if row.last_ts is None or row.last_wh is None
                else f"{format_usage(row.last_wh, row.resource)} at "
                f"{from_us(row.last_ts * 1_000_000).astimezone(catalog.zone):%Y-%m-%d %H:%M}",
            }
            for row in rows
        ],
        tenants={tenant_id: record.name for tenant_id, record in catalog.tenants.items()},
    )


_WATCH_FIELDS = ("point", "window_start", "window_end", "minimum_per_hour", "reason")
_POINT_FIELDS = ("id", "name", "resource", "room", "watch", *DEFAULT_WATCH, "reason")


def _watch(fields: dict[str, str]) -> tuple[NightWindow, int]:
    """A leak watch's night window and minimum flow per hour (in the meter's base unit)."""
    start = forms.wall_time("window_start", fields["window_start"])
    end = forms.wall_time("window_end", fields["window_end"])
    if start == end:
        raise forms.FormError("window_end", "The night must end at another time than it starts.")
    minimum = forms.whole("minimum_per_hour", fields["minimum_per_hour"], 1, MAX_MINIMUM_PER_HOUR)
    return NightWindow(start=start, end=end), minimum


async def put_leak_watch(web_ui: Web, page: Page) -> web.StreamResponse:
    """Watch a meter for flow that never stops at night (addon/DOCS.md, "Leak watches")."""
    fields = {name: page.field(name) for name in _WATCH_FIELDS}
    try:
        point_id = forms.choice(
            "point", fields["point"], web_ui.service.catalog.point_records, "meter"
        )
        window, minimum = _watch(fields)
        action = web_ui.action(page, forms.text("reason", fields["reason"], required=False))
        await web_ui.service.put_leak_watch(action, point_id, window, minimum, enabled=True)
    except forms.FormError as err:
        return await _points_page(web_ui, page, 400, forms.Refusal.of("watch", err, fields))
    raise redirect(page, "/points", done="leak_watch")


async def create_point(web_ui: Web, page: Page) -> web.StreamResponse:
    """A new meter measuring electricity, water, gas or heat (kept for good); a water meter
    is watched for leaks with the default night unless the landlord unticks it."""
    fields = {name: page.field(name) for name in _POINT_FIELDS}
    catalog = web_ui.service.catalog
    try:
        point_id = forms.point_id("id", fields["id"], catalog.point_records)
        name = forms.name("name", fields["name"])
        resource = Resource(forms.choice("resource", fields["resource"], RESOURCES, "resource"))
        rooms = (await names(web_ui)).rooms
        space_id = forms.choice("room", fields["room"], rooms, "room") if fields["room"] else None
        watch = _watch(fields) if resource is Resource.WATER and fields["watch"] else None
        action = web_ui.action(page, forms.text("reason", fields["reason"], required=False))
        await web_ui.service.write(
            lambda c, cat: ops.create_point(
                c, cat, action, point_id=point_id, name=name, space_id=space_id, resource=resource
            ),
            affects=None,
            catalog_changed=True,
        )
        # Every field was judged above: the watch of a point just created cannot be refused.
        if watch is not None:
            await web_ui.service.put_leak_watch(action, point_id, *watch, enabled=True)
    except forms.FormError as err:
        return await _points_page(web_ui, page, 400, forms.Refusal.of("point", err, fields))
    except LedgerError as err:
        refusal = forms.Refusal.of("point", forms.FormError("", err.message), fields)
        return await _points_page(web_ui, page, 400, refusal)
    raise redirect(page, "/points", done="point")


async def remove_leak_watch(web_ui: Web, page: Page) -> web.StreamResponse:
    point_id = page.field("point")
    try:
        await web_ui.service.delete_leak_watch(web_ui.action(page, ""), point_id)
    except LedgerError:
        return web_ui.not_found(page)
    raise redirect(page, "/points", done="leak_unwatch")


async def _render(web_ui: Web, page: Page, status: int = 200, **context: Any) -> web.Response:
    catalog, now_us = web_ui.service.catalog, web_ui.service.clock()
    tenant_id = page.tenant_id
    now = f"{from_us(now_us).astimezone(catalog.zone):%Y-%m-%dT%H:%M}"
    known = await names(web_ui)
    return web_ui.render(
        page,
        "move.html",
        status,
        tenant_id=tenant_id,
        name=catalog.tenants[tenant_id].name,
        held=catalog.points_of(tenant_id, now_us),
        free=sorted(_free(web_ui, now_us), key=lambda point_id: known.point(point_id).lower()),
        point_name=known.point,
        unit_of=lambda point_id: billing_unit(catalog.resource_of(point_id)),
        **({"values": {"at": now}, "errors": {}} | context),
    )


async def move_form(web_ui: Web, page: Page) -> web.StreamResponse:
    return await _render(web_ui, page)


def _final_readings(
    catalog: Catalog, page: Page, point_ids: list[str], ts: int
) -> list[IncomingReading]:
    found = []
    for point_id in point_ids:
        text = page.field(f"reading.{point_id}")
        if text:
            resource = catalog.resource_of(point_id)
            register = forms.register_wh(f"reading.{point_id}", text, billing_unit(resource))
            found.append(IncomingReading(point_id, ts, register, base_unit(resource), None))
    return found


async def _move(web_ui: Web, page: Page, direction: str) -> web.StreamResponse:
    catalog, tenant_id = web_ui.service.catalog, page.tenant_id
    values = {name: str(value) for name, value in (page.form or {}).items()}
    try:
        ts = forms.local_time("at", page.field("at"), catalog.zone) // 1_000_000
        reason = forms.text("reason", page.field("reason"))
        action = web_ui.action(page, reason)
        if direction == "in":
            chosen = [str(p) for p in (page.form.getall("points", []) if page.form else [])]
            if not chosen:
                raise forms.FormError("points", "Choose at least one free metering point.")
            free = _free(web_ui, web_ui.service.clock())
            for point_id in chosen:
                forms.choice("points", point_id, free, "free room meter")
        else:
            chosen = catalog.points_of(tenant_id, ts * 1_000_000)
        final = _final_readings(web_ui.service.catalog, page, chosen, ts)
        if final:
            await web_ui.service.ingest(final)
        if direction == "in":
            await web_ui.service.write(
                lambda c, cat: ops.move_in(
                    c, cat, action, tenant_id=tenant_id, point_ids=chosen, at_us=ts * 1_000_000
                ),
                affects=[tenant_id],
                catalog_changed=True,
            )
        else:
            await web_ui.service.write(
                lambda c, cat: ops.move_out(
                    c, cat, action, tenant_id=tenant_id, at_us=ts * 1_000_000
                ),
                affects=[tenant_id],
                catalog_changed=True,
            )
    except forms.FormError as err:
        return await _render(web_ui, page, 400, values=values, errors={err.field: err.message})
    except LedgerError as err:
        return await _render(web_ui, page, 400, values=values, errors={"": err.message})
    raise redirect(page, f"/tenants/{tenant_id}", done=f"move_{direction}")


async def move_in(web_ui: Web, page: Page) -> web.StreamResponse:
    return await _move(web_ui, page, "in")


async def move_out(web_ui: Web, page: Page) -> web.StreamResponse:
    return await _move(web_ui, page, "out")
