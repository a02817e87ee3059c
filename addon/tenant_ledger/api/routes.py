"""Every API route in one table: method, path, least role, body fields and handler.

The same table mounts the routes on aiohttp and writes the OpenAPI document, so the document
cannot drift from what the server accepts.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
import json
from typing import Any

from aiohttp import web
import sqlalchemy as sa

from tenant_ledger import __version__, operations as ops
from tenant_ledger.api.auth import Caller
from tenant_ledger.api.fields import (
    ID_PATTERN,
    POINT_ID_PATTERN,
    Field,
    Kind,
    amount_minor,
    check_id,
    time_us,
)
from tenant_ledger.billing import Quota, format_kwh, format_minor
from tenant_ledger.billing.plausibility import DEFAULT_MAX_POWER_W
from tenant_ledger.billing.statement_document import from_json
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import journal_store
from tenant_ledger.db.catalog import Catalog, PlanSettings
from tenant_ledger.db.schema import (
    ALLOCATION_METHODS,
    POINT_KINDS,
    api_tokens,
    assignments,
    audit_log,
    ha_user_links,
    metering_points,
    plans,
    quarantined_readings,
    reading_conflicts,
    readings,
    spaces,
    statements,
    tariff_versions,
)
from tenant_ledger.errors import LedgerError, invalid, not_found
from tenant_ledger.journal import tenant_account
from tenant_ledger.readings_in import PayloadError, parse_readings
from tenant_ledger.service import LedgerService
from tenant_ledger.shared_costs import losses
from tenant_ledger.statement_render import to_csv, to_pdf

MAX_LIMIT = 10_000
MAX_QUERY_INT = 2**62
MAX_POWER_W = 10**9  # a point's maximum power: 1 GW covers any building's incomer
ID_LENGTH = 64


@dataclass(frozen=True, kw_only=True)
class Call:
    """One authorised request with its parsed body."""

    request: web.Request
    service: LedgerService
    caller: Caller | None
    body: dict[str, Any]
    raw_body: Any

    @property
    def action(self) -> ops.Action:
        actor = self.body.get("actor") or (self.caller.name if self.caller else "anonymous")
        return ops.Action(
            actor=actor, reason=self.body.get("reason") or "", now_us=self.service.clock()
        )

    def param(self, name: str) -> str:
        return self.request.match_info[name]

    def query_int(self, name: str, default: int, maximum: int = MAX_QUERY_INT) -> int:
        """A non-negative integer query parameter, capped at ``maximum``."""
        text = self.request.query.get(name)
        if text is None:
            return default
        if not text.isdigit() or len(text) > 18:
            raise invalid(f"query parameter {name} must be a non-negative integer")
        return min(int(text), maximum)


type Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, kw_only=True)
class Route:
    method: str
    path: str
    handler: Handler
    role: str | None
    summary: str
    tag: str
    fields: tuple[Field, ...] = ()
    status: int = 200
    raw_body: bool = False
    """The handler parses the body itself (readings share the MQTT payload parser)."""


ROUTES: list[Route] = []


def route(
    method: str,
    path: str,
    *,
    role: str | None,
    summary: str,
    tag: str,
    fields: tuple[Field, ...] = (),
    status: int = 200,
    raw_body: bool = False,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(
            Route(
                method=method,
                path=path,
                handler=handler,
                role=role,
                summary=summary,
                tag=tag,
                fields=fields,
                status=status,
                raw_body=raw_body,
            )
        )
        return handler

    return register


ACTOR = Field(name="actor", kind=Kind.STRING, required=False, description="who acted")
REASON = Field(
    name="reason", kind=Kind.STRING, max_length=2000, description="why (kept in the audit log)"
)
OPTIONAL_REASON = Field(name="reason", kind=Kind.STRING, required=False, max_length=2000)
AT = Field(name="at", kind=Kind.TIME, required=False, description="when; default now")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _state(call: Call, tenant_id: str, status: int = 200) -> web.Response:
    return _json(call.service.states[tenant_id], status)


def _rows(rows: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in rows]


# -- service ---------------------------------------------------------------------------------


@route("GET", "/api/health", role=None, summary="Liveness and version", tag="service")
async def health(call: Call) -> web.Response:
    service = call.service
    return _json(
        {
            "status": "ok",
            "version": __version__,
            "currency": service.catalog.currency,
            "read_only": service.read_only,
            "ingest": "stalled" if service.ingest_stalled else "ok",
            "statement_failures": service.statement_failure_report(),
        },
        503 if service.ingest_stalled else 200,
    )


@route("GET", "/api/stats", role="read_only", summary="Ingestion counters", tag="service")
async def stats(call: Call) -> web.Response:
    return _json(
        {
            "counters": dict(call.service.counters),
            "read_only": call.service.read_only,
            "integrity_errors": [str(error) for error in call.service.integrity_errors],
        }
    )


# -- tenants ---------------------------------------------------------------------------------


@route("GET", "/api/tenants", role="read_only", summary="Every tenant's state", tag="tenants")
async def list_tenants(call: Call) -> web.Response:
    return _json({"tenants": [call.service.states[t] for t in sorted(call.service.states)]})


@route(
    "POST",
    "/api/tenants",
    role="admin",
    summary="Create a tenant",
    tag="tenants",
    status=201,
    fields=(
        Field(name="id", kind=Kind.STRING, max_length=ID_LENGTH, pattern=ID_PATTERN),
        Field(name="name", kind=Kind.STRING),
        Field(name="plan", kind=Kind.STRING, max_length=ID_LENGTH),
        ACTOR,
        OPTIONAL_REASON,
    ),
)
async def create_tenant(call: Call) -> web.Response:
    tenant_id, action = call.body["id"], call.action
    await call.service.write(
        lambda c, cat: ops.create_tenant(
            c, cat, action, tenant_id=tenant_id, name=call.body["name"], plan_id=call.body["plan"]
        ),
        affects=[tenant_id],
        catalog_changed=True,
    )
    return _state(call, tenant_id, 201)


def _tenant(call: Call, *, archived: bool = False) -> str:
    """The live tenant in the path (``archived``: an archived one will do too)."""
    tenant_id = call.param("tenant_id")
    catalog = call.service.catalog
    if tenant_id in catalog.tenants or (archived and tenant_id in catalog.archived_tenants):
        return tenant_id
    if tenant_id in catalog.archived_tenants:
        raise LedgerError(404, "not_found", f"tenant {tenant_id} is archived")
    raise not_found("tenant", tenant_id)


@route(
    "GET", "/api/tenants/{tenant_id}", role="read_only", summary="A tenant's state", tag="tenants"
)
async def get_tenant(call: Call) -> web.Response:
    return _state(call, _tenant(call))


@route(
    "POST",
    "/api/tenants/{tenant_id}/archive",
    role="admin",
    summary=(
        "Archive a moved-out tenant: no longer listed or published (its retained MQTT state is "
        "cleared); journal, statements and audit entries are kept. 409 while it holds a point"
    ),
    tag="tenants",
    fields=(REASON, ACTOR),
)
async def archive_tenant(call: Call) -> web.Response:
    tenant_id, action = _tenant(call), call.action
    await call.service.archive_tenant(action, tenant_id)
    archived_at = from_us(action.now_us).isoformat()
    return _json({"tenant_id": tenant_id, "archived": True, "archived_at": archived_at})


@route(
    "PUT",
    "/api/tenants/{tenant_id}/plan",
    role="admin",
    summary="Move a tenant to another plan",
    tag="tenants",
    fields=(Field(name="plan", kind=Kind.STRING, max_length=ID_LENGTH), REASON, ACTOR),
)
async def change_plan(call: Call) -> web.Response:
    tenant_id, action = _tenant(call), call.action
    await call.service.write(
        lambda c, cat: ops.change_plan(
            c, cat, action, tenant_id=tenant_id, plan_id=call.body["plan"]
        ),
        affects=[tenant_id],
        catalog_changed=True,
    )
    return _state(call, tenant_id)


MONEY_FIELDS = (
    Field(name="amount", kind=Kind.AMOUNT, description="decimal string in the ledger currency"),
    REASON,
    ACTOR,
    Field(name="ref", kind=Kind.STRING, required=False, description="idempotency key"),
)


async def _money(call: Call, operation: Callable[..., Any]) -> web.Response:
    tenant_id, action = _tenant(call), call.action
    entry = await call.service.write(
        lambda c, cat: operation(
            c,
            cat,
            action,
            tenant_id=tenant_id,
            amount_minor=call.body["amount"],
            ref=call.body["ref"],
        ),
        affects=[tenant_id],
    )
    state = call.service.states[tenant_id]
    return _json({"entry_id": entry.id, "balance": state["balance"], "state": state}, 201)


@route(
    "POST",
    "/api/tenants/{tenant_id}/topups",
    role="operator",
    summary="Record money paid in",
    tag="money",
    status=201,
    fields=MONEY_FIELDS,
)
async def top_up(call: Call) -> web.Response:
    return await _money(call, ops.top_up)


@route(
    "POST",
    "/api/tenants/{tenant_id}/adjustments",
    role="operator",
    summary="Correct a balance (either sign)",
    tag="money",
    status=201,
    fields=MONEY_FIELDS,
)
async def adjust(call: Call) -> web.Response:
    return await _money(call, ops.adjust)


@route(
    "PUT",
    "/api/tenants/{tenant_id}/exemption",
    role="operator",
    summary="Exempt a tenant from cut-off (or end it)",
    tag="status",
    fields=(
        Field(name="exempt", kind=Kind.BOOLEAN),
        REASON,
        Field(name="until", kind=Kind.TIME, required=False, nullable=True),
        ACTOR,
    ),
)
async def exemption(call: Call) -> web.Response:
    tenant_id, action = _tenant(call), call.action
    await call.service.write(
        lambda c, cat: ops.set_exemption(
            c,
            cat,
            action,
            tenant_id=tenant_id,
            exempt=call.body["exempt"],
            until_us=call.body["until"],
        ),
        affects=[tenant_id],
        catalog_changed=True,
    )
    return _state(call, tenant_id)


@route(
    "POST",
    "/api/tenants/{tenant_id}/cutoff-approvals",
    role="operator",
    summary="Approve a due cut-off",
    tag="status",
    status=201,
    fields=(REASON, ACTOR),
)
async def approve_cutoff(call: Call) -> web.Response:
    tenant_id, action = _tenant(call), call.action
    await call.service.write(
        lambda c, cat: ops.approve_cutoff(c, cat, action, tenant_id=tenant_id),
        affects=[tenant_id],
        catalog_changed=True,
    )
    return _state(call, tenant_id, 201)


# -- Home Assistant users ----------------------------------------------------------------------


@route(
    "GET",
    "/api/tenants/{tenant_id}/ha-users",
    role="read_only",
    summary="The Home Assistant users linked to the tenant (its private dashboard view)",
    tag="tenants",
)
async def list_ha_users(call: Call) -> web.Response:
    tenant_id = _tenant(call)
    query = (
        sa.select(ha_user_links)
        .where(ha_user_links.c.tenant_id == tenant_id)
        .order_by(ha_user_links.c.user_id)
    )
    rows = await call.service.read(lambda c, _cat: _rows(c.execute(query)))
    return _json(
        {
            "tenant_id": tenant_id,
            "ha_users": [
                {
                    "user_id": row["user_id"],
                    "label": row["label"],
                    "linked_at": from_us(row["linked_at_us"]).isoformat(),
                }
                for row in rows
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
    fields=(
        Field(name="user_id", kind=Kind.STRING, max_length=ID_LENGTH, description="HA user id"),
        Field(name="label", kind=Kind.STRING, required=False, description="default: user_id"),
        ACTOR,
        OPTIONAL_REASON,
    ),
)
async def link_ha_user(call: Call) -> web.Response:
    tenant_id, action, body = _tenant(call), call.action, call.body
    user_id = body["user_id"]
    if not action.reason:
        action = replace(action, reason=f"HA user {user_id} is tenant {tenant_id}")
    await call.service.write(
        lambda c, cat: ops.link_user(
            c,
            cat,
            action,
            user_id=user_id,
            label=body["label"] or user_id,
            tenant_id=tenant_id,
            replace=False,
        ),
        affects=[tenant_id],
    )
    return _json(
        {"tenant_id": tenant_id, "user_id": user_id, "state": call.service.states[tenant_id]}, 201
    )


@route(
    "DELETE",
    "/api/tenants/{tenant_id}/ha-users/{user_id}",
    role="operator",
    summary="Unlink a Home Assistant user from the tenant (204)",
    tag="tenants",
    status=204,
    fields=(ACTOR, OPTIONAL_REASON),
)
async def unlink_ha_user(call: Call) -> web.Response:
    tenant_id, action, user_id = _tenant(call), call.action, call.param("user_id")
    if not action.reason:
        action = replace(action, reason=f"HA user {user_id} no longer sees {tenant_id}")
    await call.service.write(
        lambda c, _cat: ops.unlink_user(c, action, user_id=user_id, tenant_id=tenant_id),
        affects=[tenant_id],
    )
    return web.Response(status=204)


@route(
    "POST",
    "/api/tenants/{tenant_id}/move-in",
    role="operator",
    summary="The tenant starts paying for metering points (or a space's points)",
    tag="tenancy",
    status=201,
    fields=(
        Field(name="points", kind=Kind.STRINGS, required=False),
        Field(name="space", kind=Kind.STRING, required=False, max_length=ID_LENGTH),
        AT,
        OPTIONAL_REASON,
        ACTOR,
    ),
)
async def move_in(call: Call) -> web.Response:
    tenant_id, action = _tenant(call), call.action
    at_us = call.body["at"] or action.now_us

    def change(connection: sa.Connection, catalog: Catalog) -> None:
        points = call.body["points"] or []
        if call.body["space"] is not None:
            points = [*points, *ops.points_of_space(connection, call.body["space"])]
        ops.move_in(connection, catalog, action, tenant_id=tenant_id, point_ids=points, at_us=at_us)

    await call.service.write(change, affects=[tenant_id], catalog_changed=True)
    return _state(call, tenant_id, 201)


@route(
    "POST",
    "/api/tenants/{tenant_id}/move-out",
    role="operator",
    summary="The tenant stops paying for all its points",
    tag="tenancy",
    fields=(AT, OPTIONAL_REASON, ACTOR),
)
async def move_out(call: Call) -> web.Response:
    tenant_id, action = _tenant(call), call.action
    at_us = call.body["at"] or action.now_us
    await call.service.write(
        lambda c, cat: ops.move_out(c, cat, action, tenant_id=tenant_id, at_us=at_us),
        affects=[tenant_id],
        catalog_changed=True,
    )
    return _state(call, tenant_id)


@route(
    "GET",
    "/api/tenants/{tenant_id}/journal",
    role="read_only",
    summary="The tenant's journal entries, newest first (?limit=)",
    tag="money",
)
async def tenant_journal(call: Call) -> web.Response:
    tenant_id = _tenant(call, archived=True)
    limit = call.query_int("limit", 100, MAX_LIMIT)
    currency = call.service.catalog.currency
    rows = await call.service.read(
        lambda c, _cat: journal_store.tenant_entries(c, tenant_account(tenant_id), limit)
    )
    return _json(
        {
            "entries": [
                {
                    "entry_id": row.id,
                    "time": from_us(row.ts_us).isoformat(),
                    "kind": row.kind,
                    "amount": format_minor(row.amount_minor, currency),
                    "actor": row.actor,
                    "reason": row.reason,
                }
                for row in rows
            ]
        }
    )


# -- spaces, points, assignments -------------------------------------------------------------


async def _list(call: Call, table: sa.Table, key: str) -> web.Response:
    rows = await call.service.read(lambda c, _cat: _rows(c.execute(sa.select(table))))
    return _json({key: rows})


@route("GET", "/api/spaces", role="read_only", summary="Spaces", tag="tenancy")
async def list_spaces(call: Call) -> web.Response:
    return await _list(call, spaces, "spaces")


@route(
    "POST",
    "/api/spaces",
    role="admin",
    summary="Create a space (room, stall, pitch)",
    tag="tenancy",
    status=201,
    fields=(
        Field(name="id", kind=Kind.STRING, max_length=ID_LENGTH, pattern=ID_PATTERN),
        Field(name="name", kind=Kind.STRING),
        Field(name="area_m2", kind=Kind.DECIMAL, required=False),
        ACTOR,
        OPTIONAL_REASON,
    ),
)
async def create_space(call: Call) -> web.Response:
    action, body = call.action, call.body
    await call.service.write(
        lambda c, _cat: ops.create_space(
            c, action, space_id=body["id"], name=body["name"], area_m2=body["area_m2"]
        )
    )
    return _json({"id": body["id"]}, 201)


@route("GET", "/api/points", role="read_only", summary="Metering points", tag="tenancy")
async def list_points(call: Call) -> web.Response:
    return await _list(call, metering_points, "points")


POINT_USE_FIELDS = (
    Field(
        name="kind",
        kind=Kind.STRING,
        required=False,
        choices=POINT_KINDS,
        description="tenant (default), common (shared: corridor, pump, lift) or incomer",
    ),
    Field(
        name="allocation",
        kind=Kind.STRING,
        required=False,
        choices=ALLOCATION_METHODS,
        description="common points: how the cost is shared between the tenants",
    ),
    Field(
        name="tariff",
        kind=Kind.STRING,
        required=False,
        max_length=ID_LENGTH,
        description="common points: the (building) tariff their energy is priced with",
    ),
    Field(
        name="max_power_w",
        kind=Kind.INTEGER,
        required=False,
        minimum=1,
        maximum=MAX_POWER_W,
        description=(
            f"readings implying more average power are quarantined (default {DEFAULT_MAX_POWER_W})"
        ),
    ),
)


def _point_use(body: dict[str, Any]) -> ops.PointUse:
    if body["kind"] is None and body["allocation"] is None and body["tariff"] is None:
        # Only the maximum power: the point keeps its kind (PUT) or is a tenant point (POST).
        return ops.PointUse(kind=None, max_power_w=body["max_power_w"])
    return ops.PointUse(
        kind=body["kind"] or "tenant",
        allocation=body["allocation"],
        tariff_id=body["tariff"],
        max_power_w=body["max_power_w"],
    )


@route(
    "POST",
    "/api/points",
    role="admin",
    summary="Register a metering point by its stable id",
    tag="tenancy",
    status=201,
    fields=(
        Field(
            name="id",
            kind=Kind.STRING,
            pattern=POINT_ID_PATTERN,
            description="e.g. mqtt:a4cf12ab34cd:1",
        ),
        Field(name="name", kind=Kind.STRING),
        Field(name="space", kind=Kind.STRING, required=False, max_length=ID_LENGTH),
        *POINT_USE_FIELDS,
        ACTOR,
        OPTIONAL_REASON,
    ),
)
async def create_point(call: Call) -> web.Response:
    action, body = call.action, call.body
    await call.service.write(
        lambda c, cat: ops.create_point(
            c,
            cat,
            action,
            point_id=body["id"],
            name=body["name"],
            space_id=body["space"],
            use=_point_use(body),
        ),
        catalog_changed=True,
    )
    return _json({"id": body["id"]}, 201)


@route(
    "PUT",
    "/api/points/{point_id}/use",
    role="admin",
    summary="Mark a point tenant, common (with allocation and tariff) or incomer",
    tag="tenancy",
    fields=(*POINT_USE_FIELDS, REASON, ACTOR),
)
async def set_point_use(call: Call) -> web.Response:
    action, body, point_id = call.action, call.body, call.param("point_id")
    await call.service.write(
        lambda c, cat: ops.set_point_use(c, cat, action, point_id=point_id, use=_point_use(body)),
        catalog_changed=True,
    )
    record = call.service.catalog.point_records[point_id]
    return _json(
        {
            "id": point_id,
            "kind": record.kind,
            "allocation": record.allocation,
            "tariff_id": record.tariff_id,
            "max_power_w": record.max_power_w,
        }
    )


@route(
    "GET", "/api/assignments", role="read_only", summary="Who held which point when", tag="tenancy"
)
async def list_assignments(call: Call) -> web.Response:
    return await _list(call, assignments, "assignments")


# -- tariffs and plans -----------------------------------------------------------------------


@route("GET", "/api/tariffs", role="read_only", summary="Tariff versions", tag="tariffs")
async def list_tariffs(call: Call) -> web.Response:
    rows = await call.service.read(
        lambda c, _cat: _rows(c.execute(sa.select(tariff_versions).order_by(tariff_versions.c.id)))
    )
    return _json(
        {
            "versions": [
                {
                    "tariff_id": row["tariff_id"],
                    "effective_from": from_us(row["effective_from_us"]).isoformat(),
                    "tariff": json.loads(row["body"]),
                }
                for row in rows
            ]
        }
    )


@route(
    "POST",
    "/api/tariffs/{tariff_id}/versions",
    role="admin",
    summary="Add a tariff version in force from effective_from (creates the tariff)",
    tag="tariffs",
    status=201,
    fields=(
        Field(name="tariff", kind=Kind.OBJECT, description="the billing engine's tariff JSON"),
        Field(name="effective_from", kind=Kind.TIME),
        Field(name="name", kind=Kind.STRING, required=False),
        REASON,
        ACTOR,
    ),
)
async def add_tariff_version(call: Call) -> web.Response:
    tariff_id, action, body = call.param("tariff_id"), call.action, call.body
    check_id("tariff", tariff_id)
    await call.service.write(
        lambda c, cat: ops.add_tariff_version(
            c,
            cat,
            action,
            tariff_id=tariff_id,
            name=body["name"],
            body=body["tariff"],
            effective_from_us=body["effective_from"],
        ),
        affects=None,
        catalog_changed=True,
    )
    return _json({"tariff_id": tariff_id}, 201)


@route("GET", "/api/plans", role="read_only", summary="Plans", tag="tariffs")
async def list_plans(call: Call) -> web.Response:
    return await _list(call, plans, "plans")


@route(
    "POST",
    "/api/plans",
    role="admin",
    summary="Create a prepaid or postpaid plan",
    tag="tariffs",
    status=201,
    fields=(
        Field(name="id", kind=Kind.STRING, max_length=ID_LENGTH, pattern=ID_PATTERN),
        Field(name="name", kind=Kind.STRING),
        Field(name="kind", kind=Kind.STRING, choices=("prepaid", "postpaid")),
        Field(name="tariff", kind=Kind.STRING, max_length=ID_LENGTH),
        Field(name="low_balance_threshold", kind=Kind.AMOUNT, required=False),
        Field(name="credit_limit", kind=Kind.AMOUNT, required=False),
        Field(name="reconnect_minimum", kind=Kind.AMOUNT, required=False),
        Field(name="billing_day", kind=Kind.INTEGER, required=False),
        Field(name="due_days", kind=Kind.INTEGER, required=False),
        Field(name="grace_days", kind=Kind.INTEGER, required=False),
        Field(name="quota_kwh", kind=Kind.DECIMAL, required=False),
        Field(name="quota_overage_rate", kind=Kind.DECIMAL, required=False),
        ACTOR,
        OPTIONAL_REASON,
    ),
)
async def create_plan(call: Call) -> web.Response:
    body, action = call.body, call.action
    defaults, currency = call.service.config.plan_defaults, call.service.catalog.currency

    def amount(name: str, default: str) -> int:
        value: int | None = body[name]
        return amount_minor(name, default, currency) if value is None else value

    billing_day = 1 if body["billing_day"] is None else body["billing_day"]
    if not 1 <= billing_day <= 28:
        raise invalid("billing_day must be 1..28")
    for name in ("due_days", "grace_days"):
        if body[name] is not None and body[name] < 0:
            raise invalid(f"{name} must not be negative")
    quota = None
    if body["quota_kwh"] is not None:
        wh = body["quota_kwh"] * 1000
        if wh != wh.to_integral_value():
            raise invalid("quota_kwh has at most 3 decimals")
        quota = Quota(included_wh=int(wh), overage_rate=body["quota_overage_rate"])
    plan = PlanSettings(
        id=body["id"],
        name=body["name"],
        kind=body["kind"],
        tariff_id=body["tariff"],
        low_balance_minor=amount("low_balance_threshold", defaults.low_balance_threshold),
        credit_limit_minor=amount("credit_limit", "0"),
        reconnect_minimum_minor=amount("reconnect_minimum", defaults.reconnect_minimum),
        billing_day=billing_day,
        due_days=14 if body["due_days"] is None else body["due_days"],
        grace_days=defaults.grace_days if body["grace_days"] is None else body["grace_days"],
        quota=quota,
    )
    await call.service.write(
        lambda c, cat: ops.create_plan(c, cat, action, plan), catalog_changed=True
    )
    return _json({"id": plan.id}, 201)


# -- readings --------------------------------------------------------------------------------


@route(
    "POST",
    "/api/readings",
    role="operator",
    summary="Store and rate register readings (same body as the MQTT readings topic)",
    tag="readings",
    raw_body=True,
)
async def post_readings(call: Call) -> web.Response:
    try:
        batch = parse_readings(call.raw_body)
    except PayloadError as err:
        raise LedgerError(400, err.kind, str(err)) from None
    result = await call.service.ingest(batch)
    return _json(
        {
            "stored": result.stored,
            "duplicates": result.duplicates,
            "conflicts": result.conflicts,
            "quarantined": len(result.quarantined),
        }
    )


@route(
    "GET",
    "/api/readings",
    role="read_only",
    summary="Stored readings of a point (?point=&since=&until= epoch seconds, &limit=)",
    tag="readings",
)
async def get_readings(call: Call) -> web.Response:
    point = call.request.query.get("point")
    if not point:
        raise invalid("query parameter point is required")
    since = call.query_int("since", 0)
    until = call.query_int("until", MAX_QUERY_INT)
    limit = call.query_int("limit", 1000, MAX_LIMIT)
    query = (
        sa.select(readings.c.ts, readings.c.energy_wh, readings.c.seq)
        .where((readings.c.point_id == point) & readings.c.ts.between(since, until))
        .order_by(readings.c.ts)
        .limit(limit)
    )
    rows = await call.service.read(lambda c, _cat: _rows(c.execute(query)))
    return _json({"point": point, "readings": rows})


@route(
    "GET",
    "/api/readings/conflicts",
    role="read_only",
    summary=(
        "Readings turned away because another register was stored first for that point and "
        "second, newest first (?point=&limit=)"
    ),
    tag="readings",
)
async def get_reading_conflicts(call: Call) -> web.Response:
    limit = call.query_int("limit", 1000, MAX_LIMIT)
    query = sa.select(reading_conflicts).order_by(reading_conflicts.c.id.desc()).limit(limit)
    point = call.request.query.get("point")
    if point:
        query = query.where(reading_conflicts.c.point_id == point)
    rows = await call.service.read(lambda c, _cat: _rows(c.execute(query)))
    return _json(
        {
            "conflicts": [
                {
                    "point": row["point_id"],
                    "ts": row["ts"],
                    "energy_wh": row["energy_wh"],
                    "kept_energy_wh": row["kept_energy_wh"],
                    "received_at": from_us(row["received_at_us"]).isoformat(),
                }
                for row in rows
            ]
        }
    )


def quarantine_item(row: dict[str, Any]) -> dict[str, Any]:
    released = row["released_at_us"]
    return {
        "id": row["id"],
        "point": row["point_id"],
        "ts": row["ts"],
        "energy_wh": row["energy_wh"],
        "seq": row["seq"],
        "reason": row["reason"],
        "detail": row["detail"],
        "received_at": from_us(row["received_at_us"]).isoformat(),
        "released_at": None if released is None else from_us(released).isoformat(),
        "released_by": row["released_by"],
        "release_reason": row["release_reason"],
    }


@route(
    "GET",
    "/api/readings/quarantine",
    role="read_only",
    summary=(
        "Implausible readings held back from billing (stamped in the future or before 2000, or "
        "a register rising faster than the point's max_power_w), newest first (?point=&limit=)"
    ),
    tag="readings",
)
async def get_quarantine(call: Call) -> web.Response:
    limit = call.query_int("limit", 1000, MAX_LIMIT)
    query = sa.select(quarantined_readings).order_by(quarantined_readings.c.id.desc()).limit(limit)
    point = call.request.query.get("point")
    if point:
        query = query.where(quarantined_readings.c.point_id == point)
    rows = await call.service.read(lambda c, _cat: _rows(c.execute(query)))
    return _json({"quarantined": [quarantine_item(row) for row in rows]})


@route(
    "POST",
    "/api/readings/quarantine/{quarantine_id}/release",
    role="admin",
    summary=(
        "Vouch for a quarantined reading: it is stored and rated like any other reading "
        "(409 if already released)"
    ),
    tag="readings",
    fields=(REASON, ACTOR),
)
async def release_quarantined(call: Call) -> web.Response:
    identifier = call.param("quarantine_id")
    if not identifier.isdigit() or int(identifier) >= 2**31:
        raise not_found("quarantined reading", identifier)
    result = await call.service.release_reading(call.action, int(identifier))
    query = sa.select(quarantined_readings).where(quarantined_readings.c.id == int(identifier))
    row = await call.service.read(lambda c, _cat: _rows(c.execute(query))[0])
    return _json(quarantine_item(row) | {"stored": result.stored, "conflicts": result.conflicts})


# -- reports ---------------------------------------------------------------------------------


@route(
    "GET",
    "/api/reports/losses",
    role="read_only",
    summary=(
        "Incomer energy against the sum of all other points (?from=&to= ISO 8601 with offset): "
        "positive losses are cables, unmetered loads or theft"
    ),
    tag="reports",
)
async def get_losses(call: Call) -> web.Response:
    start_us = time_us("from", call.request.query.get("from"))
    end_us = time_us("to", call.request.query.get("to"))
    if end_us <= start_us:
        raise invalid("to must be after from")
    report = await call.service.read(lambda c, cat: losses(c, cat, start_us, end_us))
    ratio = report.loss_ratio
    share = None if ratio is None else Decimal(ratio.numerator) / ratio.denominator
    return _json(
        {
            "from": from_us(start_us).isoformat(),
            "to": from_us(end_us).isoformat(),
            "incomers": [p.id for p in call.service.catalog.points_of_kind("incomer")],
            "incomer_kwh": format_kwh(report.incomer_wh),
            "channels_kwh": format_kwh(report.channels_wh),
            "losses_kwh": format_kwh(report.losses_wh),
            "loss_ratio": None if share is None else f"{share:.4f}",
        }
    )


# -- statements ------------------------------------------------------------------------------


@route(
    "GET",
    "/api/tenants/{tenant_id}/statements",
    role="read_only",
    summary="The tenant's statements, newest first",
    tag="statements",
)
async def list_statements(call: Call) -> web.Response:
    tenant_id = _tenant(call, archived=True)
    query = (
        sa.select(statements.c.id, statements.c.period_start_us, statements.c.total_minor)
        .where(statements.c.tenant_id == tenant_id)
        .order_by(statements.c.period_start_us.desc())
    )
    rows = await call.service.read(lambda c, _cat: _rows(c.execute(query)))
    currency = call.service.catalog.currency
    return _json(
        {
            "statements": [
                {
                    "id": row["id"],
                    "period_start": from_us(row["period_start_us"]).isoformat(),
                    "total": format_minor(row["total_minor"], currency),
                }
                for row in rows
            ]
        }
    )


@route(
    "GET",
    "/api/statements/{statement_id}",
    role="read_only",
    summary="A statement (?format=json|csv|pdf)",
    tag="statements",
)
async def get_statement(call: Call) -> web.Response:
    identifier = call.param("statement_id")
    if not identifier.isdigit() or int(identifier) >= 2**31:
        raise not_found("statement", identifier)
    query = sa.select(statements.c.body).where(statements.c.id == int(identifier))
    body = await call.service.read(lambda c, _cat: c.execute(query).scalar())
    if body is None:
        raise not_found("statement", identifier)
    document = {"id": int(identifier), **json.loads(body)}
    match call.request.query.get("format", "json"):
        case "json":
            return _json(document)
        case "csv":
            return web.Response(text=to_csv(from_json(document)), content_type="text/csv")
        case "pdf":
            formats = call.service.formats
            pdf = to_pdf(from_json(document), formats)
            return web.Response(body=pdf, content_type="application/pdf")
    raise invalid("format must be json, csv or pdf")


@route(
    "POST",
    "/api/statements/run",
    role="operator",
    summary="Issue the statements due now (the scheduler does this on billing days)",
    tag="statements",
)
async def run_statements(call: Call) -> web.Response:
    service = call.service
    issued = await service.run_statements()
    return _json(
        {
            "issued_for": sorted({period.tenant_id for period in issued}),
            "failed": service.statement_failure_report(),
        }
    )


# -- audit and tokens ------------------------------------------------------------------------


@route("GET", "/api/audit", role="admin", summary="Audit log, newest first (?limit=)", tag="audit")
async def get_audit(call: Call) -> web.Response:
    limit = call.query_int("limit", 100, MAX_LIMIT)
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    rows = await call.service.read(lambda c, _cat: _rows(c.execute(query)))
    for row in rows:
        row["time"] = from_us(row.pop("ts_us")).isoformat()
    return _json({"audit": rows})


@route("GET", "/api/tokens", role="admin", summary="API tokens (never the secrets)", tag="audit")
async def list_tokens(call: Call) -> web.Response:
    query = sa.select(
        api_tokens.c.name, api_tokens.c.role, api_tokens.c.created_at_us, api_tokens.c.revoked_at_us
    )
    return _json({"tokens": await call.service.read(lambda c, _cat: _rows(c.execute(query)))})


@route(
    "POST",
    "/api/tokens",
    role="admin",
    summary="Create an API token (shown once)",
    tag="audit",
    status=201,
    fields=(
        Field(name="name", kind=Kind.STRING),
        Field(name="role", kind=Kind.STRING, choices=ops.ROLES),
        ACTOR,
        OPTIONAL_REASON,
    ),
)
async def create_token(call: Call) -> web.Response:
    action, body = call.action, call.body
    token = await call.service.write(
        lambda c, _cat: ops.create_token(c, action, name=body["name"], role=body["role"])
    )
    return _json({"name": body["name"], "role": body["role"], "token": token}, 201)


@route("DELETE", "/api/tokens/{name}", role="admin", summary="Revoke an API token", tag="audit")
async def revoke_token(call: Call) -> web.Response:
    action, name = call.action, call.param("name")
    await call.service.write(lambda c, _cat: ops.revoke_token(c, action, name=name))
    return _json({"name": name, "revoked": True})
