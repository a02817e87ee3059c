"""The landlord's set-up forms: tenants, rooms and plans, created and edited without the API.

Each form is parsed field by field (``web.forms``), so a refusal names the field and keeps what
was typed; ids are derived from names and shown only as secondary text.
"""

from dataclasses import replace
from typing import Any

from aiohttp import web

from tenant_ledger import operations as ops
from tenant_ledger.billing import PlanKind
from tenant_ledger.billing.money import AmountSign
from tenant_ledger.billing.resources import Resource, billing_unit
from tenant_ledger.db.catalog import Catalog, PlanSettings, ResourceTariff
from tenant_ledger.errors import LedgerError
from tenant_ledger.web import forms
from tenant_ledger.web.context import Page, Web, redirect
from tenant_ledger.web.names import names
from tenant_ledger.web.plan_view import plan_rows

PLAN_SLOTS = tuple(resource for resource in Resource if resource is not Resource.ELECTRICITY)
"""The optional tariffs of a new plan beside its electricity tariff (``plans.tariff_id``)."""


async def _render(web_ui: Web, page: Page, status: int = 200, **context: Any) -> web.Response:
    catalog = web_ui.service.catalog
    known = await names(web_ui)
    defaults = web_ui.service.config.plan_defaults
    values = {
        "plan.kind": PlanKind.PREPAID.value,
        "plan.low_balance": defaults.low_balance_threshold,
        "plan.credit_limit": "0.00",
        "plan.reconnect_minimum": defaults.reconnect_minimum,
        "plan.billing_day": "1",
        "plan.due_days": "14",
        "plan.grace_days": str(defaults.grace_days),
    }
    return web_ui.render(
        page,
        "setup.html",
        status,
        plans=sorted(catalog.plans.values(), key=lambda plan: plan.name.lower()),
        plan_rows=plan_rows(list(catalog.plans.values())),
        plan_options=[
            (plan.id, f"{plan.name} ({plan.kind})")
            for plan in sorted(catalog.plans.values(), key=lambda plan: plan.name.lower())
        ],
        tariffs=_tariffs_by_resource(catalog),
        slots=[(resource.value, billing_unit(resource)) for resource in PLAN_SLOTS],
        tenants=sorted(known.tenants.items(), key=lambda item: item[1].lower()),
        rooms=sorted(known.rooms.items(), key=lambda item: item[1].lower()),
        roomless=sorted(
            (record for record in catalog.point_records.values() if record.space_id is None),
            key=lambda record: record.name.lower(),
        ),
        kinds=[kind.value for kind in PlanKind],
        # A refused edit form is shown with its message even when its list is empty.
        failed={key.partition(".")[0] for key in context.get("errors", {})},
        **({"values": values, "errors": {}} | context),
    )


def _tariffs_by_resource(catalog: Catalog) -> dict[str, list[tuple[str, str]]]:
    """Each resource's tariffs as select options: a plan's slot offers only its own."""
    return {
        resource.value: [
            (tariff_id, tariff_id)
            for tariff_id in sorted(catalog.schedules)
            if catalog.tariff_resources[tariff_id] is resource
        ]
        for resource in Resource
    }


async def setup(web_ui: Web, page: Page) -> web.StreamResponse:
    return await _render(web_ui, page)


async def _submit(web_ui: Web, page: Page, form: str, write: Any) -> web.StreamResponse:
    """Run ``write`` (parses the form, raises FormError; then writes); redirect or re-render."""
    values = {f"{form}.{name}": str(value) for name, value in (page.form or {}).items()}
    try:
        await write()
    except forms.FormError as err:
        errors = {f"{form}.{err.field}": err.message}
        return await _render(web_ui, page, 400, values=values, errors=errors)
    except LedgerError as err:
        return await _render(web_ui, page, 400, values=values, errors={f"{form}.": err.message})
    raise redirect(page, "/setup", done=form)


async def create_tenant(web_ui: Web, page: Page) -> web.StreamResponse:
    async def write() -> None:
        catalog = web_ui.service.catalog
        name = forms.name("name", page.field("name"))
        plan_id = forms.choice("plan", page.field("plan"), catalog.plans, "plan")
        action = web_ui.action(page, f"new tenant {name}")
        taken = {*catalog.tenants, *catalog.archived_tenants}
        tenant_id = forms.new_id(name, taken, "tenant")
        await web_ui.service.write(
            lambda c, cat: ops.create_tenant(
                c, cat, action, tenant_id=tenant_id, name=name, plan_id=plan_id
            ),
            affects=None,
            catalog_changed=True,
        )

    return await _submit(web_ui, page, "tenant", write)


async def edit_tenant(web_ui: Web, page: Page) -> web.StreamResponse:
    async def write() -> None:
        catalog = web_ui.service.catalog
        tenant_id = forms.choice("tenant", page.field("tenant"), catalog.tenants, "tenant")
        name = forms.name("name", page.field("name"))
        plan_id = forms.choice("plan", page.field("plan"), catalog.plans, "plan")
        action = web_ui.action(page, forms.text("reason", page.field("reason")))

        def change(c: Any, cat: Any) -> None:
            if name != cat.tenants[tenant_id].name:
                ops.rename_tenant(c, cat, action, tenant_id=tenant_id, name=name)
            if plan_id != cat.tenants[tenant_id].plan_id:
                ops.change_plan(c, cat, action, tenant_id=tenant_id, plan_id=plan_id)

        await web_ui.service.write(change, affects=[tenant_id], catalog_changed=True)

    return await _submit(web_ui, page, "edit", write)


async def create_room(web_ui: Web, page: Page) -> web.StreamResponse:
    async def write() -> None:
        catalog = web_ui.service.catalog
        name = forms.name("name", page.field("name"))
        area = forms.area_m2("area", page.field("area"))
        meters = [str(value) for value in (page.form.getall("points", []) if page.form else [])]
        roomless = {pid for pid, record in catalog.point_records.items() if record.space_id is None}
        for point_id in meters:
            forms.choice("points", point_id, roomless, "meter that is in no room yet")
        action = web_ui.action(page, f"new room {name}")
        rooms = (await names(web_ui)).rooms
        space_id = forms.new_id(name, rooms, "room")

        def change(c: Any, cat: Any) -> None:
            ops.create_space(c, action, space_id=space_id, name=name, area_m2=area)
            for point_id in meters:
                ops.place_point(c, cat, action, point_id=point_id, space_id=space_id)

        await web_ui.service.write(change, affects=None, catalog_changed=True)

    return await _submit(web_ui, page, "room", write)


def _tariff(catalog: Catalog, field: str, tariff_id: str, resource: Resource) -> str:
    """A tariff of ``resource`` (the database refuses another resource's in a plan's slot)."""
    forms.choice(field, tariff_id, catalog.schedules, "tariff")
    if (priced := catalog.tariff_resources[tariff_id]) is not resource:
        raise forms.FormError(
            field,
            f"Tariff {tariff_id} prices {priced}, not {resource}: choose a {resource} tariff.",
        )
    return tariff_id


def _slot(catalog: Catalog, page: Page, resource: Resource) -> ResourceTariff | None:
    """The plan's optional tariff and quota for ``resource`` (fields ``tariff_water``, ...)."""
    tariff_id = page.field(f"tariff_{resource}")
    quota = forms.quota(
        f"quota_{resource}",
        page.field(f"quota_{resource}"),
        f"overage_rate_{resource}",
        page.field(f"overage_rate_{resource}"),
        billing_unit(resource),
    )
    if not tariff_id:
        if quota is not None:
            raise forms.FormError(f"quota_{resource}", f"A {resource} quota needs a tariff.")
        return None
    return ResourceTariff(
        tariff_id=_tariff(catalog, f"tariff_{resource}", tariff_id, resource), quota=quota
    )


def _plan(web_ui: Web, page: Page, existing: PlanSettings | None = None) -> PlanSettings:
    """The plan the form describes; editing ``existing`` keeps what its form does not show
    (kind, tariffs, billing day, quotas)."""
    catalog, currency = web_ui.service.catalog, web_ui.service.catalog.currency

    def money(field: str, sign: AmountSign) -> int:
        return forms.amount(field, page.field(field), currency, positive=False, sign=sign)

    name = forms.name("name", page.field("name"))
    low_balance = money("low_balance", AmountSign.ANY)
    credit_limit = money("credit_limit", AmountSign.NON_NEGATIVE)
    reconnect_minimum = money("reconnect_minimum", AmountSign.ANY)
    due_days = forms.whole("due_days", page.field("due_days"), 0, 365)
    grace_days = forms.whole("grace_days", page.field("grace_days"), 0, 365)
    base = existing or PlanSettings(
        id=forms.new_id(name, catalog.plans, "plan"),
        name=name,
        kind=PlanKind(forms.choice("kind", page.field("kind"), set(PlanKind), "kind")),
        tariff_id=_tariff(catalog, "tariff", page.field("tariff"), Resource.ELECTRICITY),
        low_balance_minor=low_balance,
        credit_limit_minor=credit_limit,
        reconnect_minimum_minor=reconnect_minimum,
        billing_day=forms.whole("billing_day", page.field("billing_day"), 1, 28),
        due_days=due_days,
        grace_days=grace_days,
        quota=forms.quota(
            "quota_kwh", page.field("quota_kwh"), "overage_rate", page.field("overage_rate")
        ),
        others={
            resource: slot
            for resource in PLAN_SLOTS
            if (slot := _slot(catalog, page, resource)) is not None
        },
    )
    return replace(
        base,
        name=name,
        low_balance_minor=low_balance,
        credit_limit_minor=credit_limit,
        reconnect_minimum_minor=reconnect_minimum,
        due_days=due_days,
        grace_days=grace_days,
    )


async def create_plan(web_ui: Web, page: Page) -> web.StreamResponse:
    async def write() -> None:
        plan = _plan(web_ui, page)
        action = web_ui.action(page, f"new plan {plan.name}")
        await web_ui.service.write(
            lambda c, cat: ops.create_plan(c, cat, action, plan), catalog_changed=True
        )

    return await _submit(web_ui, page, "plan", write)


async def edit_plan(web_ui: Web, page: Page) -> web.StreamResponse:
    async def write() -> None:
        catalog = web_ui.service.catalog
        plan_id = forms.choice("plan", page.field("plan"), catalog.plans, "plan")
        plan = _plan(web_ui, page, catalog.plans[plan_id])
        action = web_ui.action(page, forms.text("reason", page.field("reason")))
        await web_ui.service.write(
            lambda c, cat: ops.edit_plan(c, cat, action, plan), affects=None, catalog_changed=True
        )

    return await _submit(web_ui, page, "edit_plan", write)


async def edit_room(web_ui: Web, page: Page) -> web.StreamResponse:
    async def write() -> None:
        rooms = (await names(web_ui)).rooms
        space_id = forms.choice("room", page.field("room"), rooms, "room")
        name = forms.name("name", page.field("name"))
        area = forms.area_m2("area", page.field("area"))
        action = web_ui.action(page, forms.text("reason", page.field("reason")))
        await web_ui.service.write(
            lambda c, _cat: ops.edit_space(c, action, space_id=space_id, name=name, area_m2=area),
            affects=None,
            catalog_changed=True,
        )

    return await _submit(web_ui, page, "edit_room", write)
