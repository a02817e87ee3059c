"""Tenants: create, read, archive, change plan, exemption, cut-off approval, linked HA users."""

from typing import Literal

from aiohttp import web

from tenant_ledger import operations as ops
from tenant_ledger.api.contract import Action, Id, Name, Reasoned, Time, UserId
from tenant_ledger.api.models import Reply, TenantState
from tenant_ledger.api.registry import Call, json_response, route
from tenant_ledger.billing import SupplyCause
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import listings


class TenantList(Reply):
    tenants: list[TenantState]


class NewTenant(Action):
    id: Id
    name: Name
    plan: Id


class Archived(Reply):
    tenant_id: str
    archived: bool
    archived_at: str


class PlanChange(Reasoned):
    plan: Id


class Exemption(Reasoned):
    exempt: bool
    until: Time | None = None


class SupplyReport(Reasoned):
    """The tenant's supply as Home Assistant sees it now, and who cut it and why when off."""

    supply: Literal["on", "off"]
    cause: Literal["arrears", "landlord", "safety"] | None = None


class HaUser(Reply):
    user_id: str
    label: str
    linked_at: str


class HaUsers(Reply):
    tenant_id: str
    ha_users: list[HaUser]


class NewHaUser(Action):
    user_id: UserId
    label: Name | None = None


class LinkedHaUser(Reply):
    tenant_id: str
    user_id: str
    state: TenantState


@route(
    "GET",
    "/api/tenants",
    role="read_only",
    summary="Every tenant's state",
    tag="tenants",
    response=TenantList,
)
async def list_tenants(call: Call) -> web.Response:
    states = call.service.states
    return json_response({"tenants": [states[tenant] for tenant in sorted(states)]})


@route(
    "POST",
    "/api/tenants",
    role="admin",
    summary="Create a tenant",
    tag="tenants",
    status=201,
    body=NewTenant,
    response=TenantState,
)
async def create_tenant(call: Call) -> web.Response:
    body: NewTenant = call.body
    action = call.action
    await call.service.write(
        lambda c, cat: ops.create_tenant(
            c, cat, action, tenant_id=body.id, name=body.name, plan_id=body.plan
        ),
        affects=[body.id],
        catalog_changed=True,
    )
    return call.state(body.id, 201)


@route(
    "GET",
    "/api/tenants/{tenant_id}",
    role="read_only",
    summary="A tenant's state",
    tag="tenants",
    response=TenantState,
)
async def get_tenant(call: Call) -> web.Response:
    return call.state(call.tenant())


@route(
    "POST",
    "/api/tenants/{tenant_id}/archive",
    role="admin",
    summary=(
        "Archive a moved-out tenant: no longer listed or published (its retained MQTT state is "
        "cleared); journal, statements and audit entries are kept. 409 while it holds a point"
    ),
    tag="tenants",
    body=Reasoned,
    response=Archived,
)
async def archive_tenant(call: Call) -> web.Response:
    tenant_id, action = call.tenant(), call.action
    await call.service.archive_tenant(action, tenant_id)
    archived_at = from_us(action.now_us).isoformat()
    return json_response({"tenant_id": tenant_id, "archived": True, "archived_at": archived_at})


@route(
    "PUT",
    "/api/tenants/{tenant_id}/plan",
    role="admin",
    summary="Move a tenant to another plan",
    tag="tenants",
    body=PlanChange,
    response=TenantState,
)
async def change_plan(call: Call) -> web.Response:
    tenant_id, action, body = call.tenant(), call.action, call.body
    await call.service.write(
        lambda c, cat: ops.change_plan(c, cat, action, tenant_id=tenant_id, plan_id=body.plan),
        affects=[tenant_id],
        catalog_changed=True,
    )
    return call.state(tenant_id)


@route(
    "PUT",
    "/api/tenants/{tenant_id}/exemption",
    role="operator",
    summary="Exempt a tenant from cut-off (or end it)",
    tag="status",
    body=Exemption,
    response=TenantState,
)
async def exemption(call: Call) -> web.Response:
    tenant_id, action, body = call.tenant(), call.action, call.body
    await call.service.write(
        lambda c, cat: ops.set_exemption(
            c, cat, action, tenant_id=tenant_id, exempt=body.exempt, until_us=body.until
        ),
        affects=[tenant_id],
        catalog_changed=True,
    )
    return call.state(tenant_id)


@route(
    "POST",
    "/api/tenants/{tenant_id}/cutoff-approvals",
    role="operator",
    summary="Approve a due cut-off (409 when none is due)",
    tag="status",
    status=201,
    body=Reasoned,
    response=TenantState,
)
async def approve_cutoff(call: Call) -> web.Response:
    tenant_id, action = call.tenant(), call.action
    await call.service.write(
        lambda c, cat: ops.approve_cutoff(c, cat, action, tenant_id=tenant_id),
        affects=[tenant_id],
        catalog_changed=True,
    )
    return call.state(tenant_id, 201)


@route(
    "POST",
    "/api/tenants/{tenant_id}/supply",
    role="operator",
    summary="Report the tenant's supply (Home Assistant, after switching or seeing a change); "
    "the same state again changes nothing",
    tag="status",
    body=SupplyReport,
    response=TenantState,
)
async def report_supply(call: Call) -> web.Response:
    tenant_id, action = call.tenant(), call.action
    report: SupplyReport = call.body
    cause = None if report.cause is None else SupplyCause(report.cause)
    await call.service.write(
        lambda c, cat: ops.report_supply(
            c, cat, action, tenant_id=tenant_id, off=report.supply == "off", cause=cause
        ),
        # An arrears cut-off counts for the guard, which every tenant's decision depends on, and
        # spends the tenant's approval (a catalog field); other reports change neither.
        affects=None if cause is SupplyCause.ARREARS else [tenant_id],
        catalog_changed=cause is SupplyCause.ARREARS,
    )
    return call.state(tenant_id)


@route(
    "GET",
    "/api/tenants/{tenant_id}/ha-users",
    role="read_only",
    summary="The Home Assistant users linked to the tenant (its private dashboard view)",
    tag="tenants",
    response=HaUsers,
)
async def list_ha_users(call: Call) -> web.Response:
    tenant_id = call.tenant()
    found = await call.service.read(lambda c, _cat: listings.ha_user_rows(c, tenant_id))
    return json_response(
        {
            "tenant_id": tenant_id,
            "ha_users": [
                {
                    "user_id": row["user_id"],
                    "label": row["label"],
                    "linked_at": from_us(row["linked_at_us"]).isoformat(),
                }
                for row in found
            ],
        }
    )


@route(
    "POST",
    "/api/tenants/{tenant_id}/ha-users",
    role="operator",
    summary=(
        "Link a Home Assistant user to the tenant (a user sees one tenant: 409 while it is "
        "linked to another)"
    ),
    tag="tenants",
    status=201,
    body=NewHaUser,
    response=LinkedHaUser,
)
async def link_ha_user(call: Call) -> web.Response:
    tenant_id, body = call.tenant(), call.body
    action = call.acting(f"HA user {body.user_id} is tenant {tenant_id}")
    await call.service.write(
        lambda c, cat: ops.link_user(
            c,
            cat,
            action,
            user_id=body.user_id,
            label=body.label or body.user_id,
            tenant_id=tenant_id,
            replace=False,
        ),
        affects=[tenant_id],
    )
    state = call.service.states[tenant_id]
    return json_response({"tenant_id": tenant_id, "user_id": body.user_id, "state": state}, 201)


@route(
    "DELETE",
    "/api/tenants/{tenant_id}/ha-users/{user_id}",
    role="operator",
    summary="Unlink a Home Assistant user from the tenant (204)",
    tag="tenants",
    status=204,
    body=Action,
    response=None,
)
async def unlink_ha_user(call: Call) -> web.Response:
    tenant_id, user_id = call.tenant(), call.param("user_id")
    action = call.acting(f"HA user {user_id} no longer sees {tenant_id}")
    await call.service.write(
        lambda c, _cat: ops.unlink_user(c, action, user_id=user_id, tenant_id=tenant_id),
        affects=[tenant_id],
    )
    return web.Response(status=204)
