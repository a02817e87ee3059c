"""Operator actions: each one validated, written and recorded in the audit log with who and why.

Every function runs inside the caller's transaction and raises ``LedgerError`` for anything it
refuses, before it has written anything.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
import hashlib
import json
import secrets
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import SupplyCause, TariffError, TenantState, decode_json, parse_tariff
from tenant_ledger.db import journal_store, supply_store
from tenant_ledger.db.catalog import SITE_ID, Catalog, PlanSettings
from tenant_ledger.db.schema import (
    ALLOCATION_METHODS,
    POINT_KINDS,
    api_tokens,
    assignments,
    audit_log,
    ha_user_links,
    journal,
    metering_points,
    plans,
    rating_cursors,
    spaces,
    tariff_versions,
    tariffs,
    tenant_status,
    tenants,
)
from tenant_ledger.errors import LedgerError, already_posted, conflict, invalid, not_found
from tenant_ledger.journal import ADJUSTMENTS, CASH, Entry, Leg, Posting, tenant_account

ROLES = ("admin", "operator", "read_only")
SYSTEM_PRINCIPAL = "ledger"


@dataclass(frozen=True, kw_only=True, slots=True)
class Action:
    """Who did it, when and why: recorded with every change.

    ``actor`` is the name the caller gives (a person at the desk, an HA user); ``principal`` is
    who the ledger authenticated (``token:<name>``, ``ha_user:<id>``), which no caller chooses.
    """

    actor: str
    reason: str
    now_us: int
    principal: str = SYSTEM_PRINCIPAL


class RefSource(StrEnum):
    """Where an idempotency key came from. The journal's refs are one namespace, so each source
    has its own prefix and none can collide with the ledger's own (``standing:…``, ``common:…``),
    which would otherwise block billing."""

    API = "api"
    """A caller's ``ref`` (the HA actions send their call's context id)."""
    FORM = "form"
    """The one-time key of a console money form."""


def caller_ref(source: RefSource, key: str) -> str:
    return f"{source}:{key}"


def audit(
    connection: sa.Connection, action: Action, name: str, target: str, details: dict[str, Any]
) -> None:
    connection.execute(
        audit_log.insert().values(
            ts_us=action.now_us,
            actor=action.actor,
            principal=action.principal,
            action=name,
            target=target,
            reason=action.reason,
            details=json.dumps(
                details | {journal_store.HEAD_KEY: journal_store.head(connection)},
                sort_keys=True,
                default=str,
            ),
        )
    )


def _require(kind: str, identifier: str, known: Collection[str]) -> None:
    if identifier not in known:
        raise not_found(kind, identifier)


def _require_live(catalog: Catalog, tenant_id: str) -> None:
    """The tenant exists and is not archived (archived tenants take no more actions)."""
    if tenant_id in catalog.archived_tenants:
        raise conflict(f"tenant {tenant_id} is archived")
    _require("tenant", tenant_id, catalog.tenants)


def _insert(connection: sa.Connection, table: sa.Table, kind: str, values: dict[str, Any]) -> None:
    exists = connection.execute(sa.select(table.c.id).where(table.c.id == values["id"])).first()
    if exists is not None:
        raise conflict(f"{kind} {values['id']} already exists")
    connection.execute(table.insert().values(**values))


def create_tenant(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    name: str,
    plan_id: str,
) -> None:
    _require("plan", plan_id, catalog.plans)
    _insert(
        connection,
        tenants,
        "tenant",
        {
            "id": tenant_id,
            "site_id": SITE_ID,
            "name": name,
            "plan_id": plan_id,
            "exempt": False,
            "cutoff_approved": False,
            "created_at_us": action.now_us,
        },
    )
    audit(connection, action, "create_tenant", tenant_id, {"name": name, "plan_id": plan_id})


def change_plan(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str, plan_id: str
) -> None:
    _require_live(catalog, tenant_id)
    _require("plan", plan_id, catalog.plans)
    connection.execute(tenants.update().where(tenants.c.id == tenant_id).values(plan_id=plan_id))
    audit(connection, action, "change_plan", tenant_id, {"plan_id": plan_id})


def create_space(
    connection: sa.Connection, action: Action, *, space_id: str, name: str, area_m2: Decimal | None
) -> None:
    area = None if area_m2 is None else str(area_m2)
    _insert(
        connection,
        spaces,
        "space",
        {"id": space_id, "site_id": SITE_ID, "name": name, "area_m2": area},
    )
    audit(connection, action, "create_space", space_id, {"name": name, "area_m2": area})


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
    """Readings implying more average power are quarantined; None: the default (or unchanged)."""


def _check_use(catalog: Catalog, use: PointUse) -> dict[str, Any]:
    """The point's columns ``use`` sets (kind, allocation, tariff; max power when given)."""
    power = {} if use.max_power_w is None else {"max_power_w": use.max_power_w}
    if use.kind is None:
        return power
    if use.kind not in POINT_KINDS:
        raise invalid(f"kind must be one of {', '.join(POINT_KINDS)}")
    if use.kind != "common":
        if use.allocation is not None or use.tariff_id is not None:
            raise invalid("allocation and tariff apply to common points only")
        return {"kind": use.kind, "allocation": None, "tariff_id": None} | power
    if use.allocation not in ALLOCATION_METHODS:
        raise invalid(f"a common point needs allocation: {', '.join(ALLOCATION_METHODS)}")
    if use.tariff_id is None:
        raise invalid("a common point needs the tariff its energy is priced with")
    _require("tariff", use.tariff_id, catalog.schedules)
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
) -> None:
    if (
        space_id is not None
        and connection.execute(sa.select(spaces.c.id).where(spaces.c.id == space_id)).first()
        is None
    ):
        raise not_found("space", space_id)
    values = _check_use(catalog, use)
    _insert(
        connection,
        metering_points,
        "metering point",
        {
            "id": point_id,
            "name": name,
            "space_id": space_id,
            "created_at_us": action.now_us,
            **values,
        },
    )
    audit(
        connection, action, "create_point", point_id, {"name": name, "space_id": space_id} | values
    )


def set_point_use(
    connection: sa.Connection, catalog: Catalog, action: Action, *, point_id: str, use: PointUse
) -> None:
    """Mark a point tenant, common or incomer; only a point no tenant ever held may change.

    ``use.kind`` None keeps the kind and changes only ``max_power_w``.
    """
    _require("metering point", point_id, catalog.points)
    values = _check_use(catalog, use)
    if use.kind not in (None, "tenant") and catalog.by_point.get(point_id):
        raise conflict(f"{point_id} has been assigned to a tenant; it stays a tenant point")
    if not values:
        raise invalid("nothing to change: give kind or max_power_w")
    connection.execute(
        metering_points.update().where(metering_points.c.id == point_id).values(**values)
    )
    audit(connection, action, "point_use", point_id, values)


def points_of_space(connection: sa.Connection, space_id: str) -> list[str]:
    if connection.execute(sa.select(spaces.c.id).where(spaces.c.id == space_id)).first() is None:
        raise not_found("space", space_id)
    return list(
        connection.execute(
            sa.select(metering_points.c.id).where(metering_points.c.space_id == space_id)
        ).scalars()
    )


def _rated_until(connection: sa.Connection, point_id: str) -> int | None:
    """Epoch second up to which the point's energy has been posted, if any."""
    return connection.execute(
        sa.select(rating_cursors.c.ts).where(rating_cursors.c.point_id == point_id)
    ).scalar()


def _refuse_rated(connection: sa.Connection, point_id: str, at_us: int, what: str) -> None:
    rated = _rated_until(connection, point_id)
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
    _require_live(catalog, tenant_id)
    point_ids = list(dict.fromkeys(point_ids))
    if not point_ids:
        raise invalid("move-in needs at least one metering point")
    for point_id in point_ids:
        _require("metering point", point_id, catalog.points)
        kind = catalog.point_records[point_id].kind
        if kind != "tenant":
            raise conflict(f"{point_id} is a {kind} point; only tenant points can be moved into")
        for held in catalog.by_point.get(point_id, ()):
            if held.end_us > at_us:
                raise conflict(f"{point_id} is assigned to {held.tenant_id} at that time")
        _refuse_rated(connection, point_id, at_us, "a move-in")
    connection.execute(
        assignments.insert(),
        [
            {"tenant_id": tenant_id, "point_id": p, "start_us": at_us, "end_us": None}
            for p in point_ids
        ],
    )
    audit(connection, action, "move_in", tenant_id, {"points": list(point_ids), "at_us": at_us})


def move_out(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str, at_us: int
) -> list[str]:
    """End the tenant's open assignments at ``at_us``; returns the points released."""
    _require_live(catalog, tenant_id)
    open_rows = list(
        connection.execute(
            sa.select(assignments).where(
                (assignments.c.tenant_id == tenant_id) & assignments.c.end_us.is_(None)
            )
        )
    )
    if not open_rows:
        raise conflict(f"tenant {tenant_id} holds no metering point")
    for row in open_rows:
        if at_us <= row.start_us:
            raise conflict(f"move-out must be after the move-in of {row.point_id}")
        _refuse_rated(connection, row.point_id, at_us, "a move-out")
    connection.execute(
        assignments.update()
        .where(assignments.c.id.in_([row.id for row in open_rows]))
        .values(end_us=at_us)
    )
    points = [row.point_id for row in open_rows]
    audit(connection, action, "move_out", tenant_id, {"points": points, "at_us": at_us})
    return points


def archive_tenant(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str
) -> None:
    """Retire a tenant who has moved out: no longer listed or published, nothing deleted.

    The journal, statements, readings and audit entries stay; a statement still due for the
    tenant's last period is issued as usual.
    """
    _require_live(catalog, tenant_id)
    held = sorted(
        item.point_id
        for item in catalog.assignments
        if item.tenant_id == tenant_id and item.end_us > action.now_us
    )
    if held:
        raise conflict(
            f"tenant {tenant_id} still holds {', '.join(held)}; move the tenant out first"
        )
    account = tenant_account(tenant_id)
    balance = journal_store.balances(connection, [account])[account]
    connection.execute(
        tenants.update().where(tenants.c.id == tenant_id).values(archived_at_us=action.now_us)
    )
    # The portal of an archived tenant is gone; the links go with it (recorded here).
    linked = [user_id for user_id, _label in users_of_tenant(connection, tenant_id)]
    connection.execute(ha_user_links.delete().where(ha_user_links.c.tenant_id == tenant_id))
    audit(
        connection,
        action,
        "archive_tenant",
        tenant_id,
        {"balance_minor": balance, "unlinked_users": linked},
    )


def tenant_of_user(connection: sa.Connection, user_id: str) -> str | None:
    """The tenant the Home Assistant user is linked to, if any."""
    return connection.execute(
        sa.select(ha_user_links.c.tenant_id).where(ha_user_links.c.user_id == user_id)
    ).scalar()


def users_of_tenant(connection: sa.Connection, tenant_id: str) -> list[tuple[str, str]]:
    """(user id, label) of the Home Assistant users linked to the tenant."""
    query = (
        sa.select(ha_user_links.c.user_id, ha_user_links.c.label)
        .where(ha_user_links.c.tenant_id == tenant_id)
        .order_by(ha_user_links.c.label)
    )
    return [(row.user_id, row.label) for row in connection.execute(query)]


def link_user(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    user_id: str,
    label: str,
    tenant_id: str,
    replace: bool = True,
) -> str | None:
    """Let Home Assistant user ``user_id`` see ``tenant_id``'s account.

    A user sees one tenant: an existing link to another tenant is replaced, or with
    ``replace=False`` refused (409). Returns the tenant the user was linked to before, if any.
    """
    _require_live(catalog, tenant_id)
    previous = tenant_of_user(connection, user_id)
    if previous not in (None, tenant_id) and not replace:
        raise conflict(f"HA user {user_id} is linked to tenant {previous}; unlink it there first")
    connection.execute(ha_user_links.delete().where(ha_user_links.c.user_id == user_id))
    connection.execute(
        ha_user_links.insert().values(
            user_id=user_id, tenant_id=tenant_id, label=label, linked_at_us=action.now_us
        )
    )
    audit(connection, action, "link_ha_user", tenant_id, {"user_id": user_id, "label": label})
    return previous


def unlink_user(connection: sa.Connection, action: Action, *, user_id: str, tenant_id: str) -> None:
    result = connection.execute(
        ha_user_links.delete().where(
            (ha_user_links.c.user_id == user_id) & (ha_user_links.c.tenant_id == tenant_id)
        )
    )
    if not result.rowcount:
        raise not_found("HA user link", user_id)
    audit(connection, action, "unlink_ha_user", tenant_id, {"user_id": user_id})


def add_tariff_version(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tariff_id: str,
    name: str | None,
    body: Any,
    effective_from_us: int,
) -> None:
    """A tariff's new version in force from ``effective_from_us`` (creating the tariff if new)."""
    try:
        tariff = parse_tariff(decode_json(json.dumps(body, default=str)))
    except TariffError as err:
        raise LedgerError(400, "invalid_tariff", str(err)) from None
    if tariff.currency != catalog.currency:
        raise invalid(f"tariff currency {tariff.currency} is not the ledger's {catalog.currency}")
    if tariff_id not in catalog.schedules:
        _insert(
            connection,
            tariffs,
            "tariff",
            {"id": tariff_id, "name": name or tariff_id, "currency": tariff.currency},
        )
    latest = connection.execute(sa.select(sa.func.max(rating_cursors.c.ts))).scalar()
    if (
        latest is not None
        and effective_from_us < latest * 1_000_000
        and tariff_id in catalog.schedules
    ):
        raise conflict("a tariff version cannot take effect before energy already rated")
    duplicate = connection.execute(
        sa.select(tariff_versions.c.id).where(
            (tariff_versions.c.tariff_id == tariff_id)
            & (tariff_versions.c.effective_from_us == effective_from_us)
        )
    ).first()
    if duplicate is not None:
        raise conflict(f"tariff {tariff_id} already has a version from that instant")
    text = json.dumps(body, sort_keys=True, default=str)
    connection.execute(
        tariff_versions.insert().values(
            tariff_id=tariff_id,
            effective_from_us=effective_from_us,
            body=text,
            created_at_us=action.now_us,
        )
    )
    audit(
        connection,
        action,
        "tariff_version",
        tariff_id,
        {"effective_from_us": effective_from_us, "tariff": body},
    )


def create_plan(
    connection: sa.Connection, catalog: Catalog, action: Action, plan: PlanSettings
) -> None:
    _require("tariff", plan.tariff_id, catalog.schedules)
    if plan.credit_limit_minor < 0:
        raise invalid("credit_limit must not be negative")
    values = {
        "id": plan.id,
        "name": plan.name,
        "kind": plan.kind,
        "tariff_id": plan.tariff_id,
        "low_balance_threshold_minor": plan.low_balance_minor,
        "credit_limit_minor": plan.credit_limit_minor,
        "reconnect_minimum_minor": plan.reconnect_minimum_minor,
        "billing_day": plan.billing_day,
        "due_days": plan.due_days,
        "grace_days": plan.grace_days,
        "quota_kwh": None if plan.quota is None else f"{Decimal(plan.quota.included_wh) / 1000}",
        "quota_overage_rate": None
        if plan.quota is None or plan.quota.overage_rate is None
        else str(plan.quota.overage_rate),
    }
    _insert(connection, plans, "plan", values)
    audit(connection, action, "create_plan", plan.id, values)


def _credit(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    kind: str,
    tenant_id: str,
    amount_minor: int,
    counter_account: str,
    ref: str | None,
) -> Entry:
    _require_live(catalog, tenant_id)
    if amount_minor == 0:
        raise invalid("amount must not be zero")
    if ref is not None:
        posted = connection.execute(sa.select(journal.c.id).where(journal.c.ref == ref)).scalar()
        if posted is not None:
            raise already_posted(ref.partition(":")[2], posted)
    entry = journal_store.append(
        connection,
        Posting(
            kind=kind,
            currency=catalog.currency,
            actor=action.actor,
            reason=action.reason,
            tenant_id=tenant_id,
            ref=ref,
            legs=(
                Leg(account=tenant_account(tenant_id), amount_minor=amount_minor),
                Leg(account=counter_account, amount_minor=-amount_minor),
            ),
        ),
        action.now_us,
    )
    audit(connection, action, kind, tenant_id, {"amount_minor": amount_minor, "entry_id": entry.id})
    return entry


def top_up(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    amount_minor: int,
    ref: str | None = None,
) -> Entry:
    """Money paid in (cash at the desk, a transfer): always positive.

    ``ref`` (from ``caller_ref``) makes it idempotent: a second posting with it is refused with
    ``already_posted``, naming the first entry.
    """
    if amount_minor <= 0:
        raise invalid("a top-up must be positive; use an adjustment to take money off")
    return _credit(
        connection,
        catalog,
        action,
        kind="top_up",
        tenant_id=tenant_id,
        amount_minor=amount_minor,
        counter_account=CASH,
        ref=ref,
    )


def adjust(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    amount_minor: int,
    ref: str | None = None,
) -> Entry:
    """A correction of either sign (goodwill credit, a fee, reversing a mistaken top-up)."""
    return _credit(
        connection,
        catalog,
        action,
        kind="adjustment",
        tenant_id=tenant_id,
        amount_minor=amount_minor,
        counter_account=ADJUSTMENTS,
        ref=ref,
    )


def set_exemption(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    exempt: bool,
    until_us: int | None,
) -> None:
    _require_live(catalog, tenant_id)
    connection.execute(
        tenants.update()
        .where(tenants.c.id == tenant_id)
        .values(
            exempt=exempt,
            exempt_until_us=until_us if exempt else None,
            exempt_reason=action.reason if exempt else None,
        )
    )
    audit(connection, action, "exemption", tenant_id, {"exempt": exempt, "until_us": until_us})


def approve_cutoff(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str
) -> None:
    """The landlord agrees that a due cut-off may happen: the ledger then decides ``cut`` (once,
    outside quiet hours) and Home Assistant switches; the approval is spent by that cut-off."""
    _require_live(catalog, tenant_id)
    status = connection.execute(
        sa.select(tenant_status.c.status).where(tenant_status.c.tenant_id == tenant_id)
    ).scalar()
    if status not in (TenantState.ARREARS, TenantState.DISCONNECT_DUE):
        raise conflict(f"no cut-off is due for tenant {tenant_id} (status {status})")
    connection.execute(
        tenants.update().where(tenants.c.id == tenant_id).values(cutoff_approved=True)
    )
    audit(connection, action, "approve_cutoff", tenant_id, {"status": status})


def report_supply(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    off: bool,
    cause: SupplyCause | None,
) -> bool:
    """Record the supply Home Assistant reports for the tenant; False when nothing changed.

    Idempotent: the same state again (a retry, a restart of HA) adds no row. An arrears cut-off
    spends the tenant's cut-off approval. ``cause`` is required when off and refused when on.
    """
    _require_live(catalog, tenant_id)
    if off and cause is None:
        raise invalid("a supply reported off needs its cause: arrears, landlord or safety")
    if not off and cause is not None:
        raise invalid("a supply reported on has no cause")
    latest = supply_store.latest(connection, tenant_id)
    if latest is not None and (latest.off, latest.cause) == (off, cause):
        return False
    supply_store.record(
        connection,
        tenant_id,
        at_us=action.now_us,
        off=off,
        cause=cause,
        actor=action.actor,
        reason=action.reason,
    )
    if off and cause is SupplyCause.ARREARS:
        connection.execute(
            tenants.update().where(tenants.c.id == tenant_id).values(cutoff_approved=False)
        )
    audit(
        connection,
        action,
        "supply",
        tenant_id,
        {"supply": "off" if off else "on", "cause": None if cause is None else cause.value},
    )
    return True


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    connection: sa.Connection, action: Action, *, name: str, role: str, token: str | None = None
) -> str:
    """A new API token; only its sha256 is stored, the token itself is returned once."""
    if role not in ROLES:
        raise invalid(f"role must be one of {', '.join(ROLES)}")
    plain = token or secrets.token_urlsafe(32)
    exists = connection.execute(sa.select(api_tokens.c.id).where(api_tokens.c.name == name)).first()
    if exists is not None:
        raise conflict(f"a token named {name!r} already exists")
    connection.execute(
        api_tokens.insert().values(
            name=name, role=role, token_hash=hash_token(plain), created_at_us=action.now_us
        )
    )
    audit(connection, action, "create_token", name, {"role": role})
    return plain


def revoke_token(connection: sa.Connection, action: Action, *, name: str) -> None:
    result = connection.execute(
        api_tokens.update()
        .where((api_tokens.c.name == name) & api_tokens.c.revoked_at_us.is_(None))
        .values(revoked_at_us=action.now_us)
    )
    if not result.rowcount:
        raise not_found("token", name)
    audit(connection, action, "revoke_token", name, {})
