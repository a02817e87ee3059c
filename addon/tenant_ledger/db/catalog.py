"""The reference data rating and status need, loaded into one immutable snapshot.

Tenants, plans, tariffs and assignments change rarely (operator actions) and are read on every
batch of readings, so the service keeps a ``Catalog`` and reloads it after each change.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import assert_never
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tenant_ledger.billing import (
    Assignment,
    Money,
    Plan,
    PlanKind,
    PostpaidPlan,
    PrepaidPlan,
    Quota,
    TariffSchedule,
    TariffVersion,
    decode_json,
    parse_tariff,
)
from tenant_ledger.billing.plausibility import DEFAULT_MAX_POWER_W, PointLimit
from tenant_ledger.billing.resources import Resource, Unit
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db.schema import (
    assignments,
    metering_points,
    plan_tariffs,
    plans,
    sites,
    spaces,
    tariff_versions,
    tariffs,
    tenants,
)

SITE_ID = "main"


@dataclass(frozen=True, kw_only=True)
class ResourceTariff:
    """How a plan bills one resource: its tariff and quota (in base units: Wh or L)."""

    tariff_id: str
    quota: Quota | None = None


@dataclass(frozen=True, kw_only=True)
class PlanSettings:
    id: str
    name: str
    kind: PlanKind
    tariff_id: str
    low_balance_minor: int
    credit_limit_minor: int
    reconnect_minimum_minor: int
    billing_day: int
    due_days: int
    grace_days: int
    quota: Quota | None
    """The electricity quota (``quota_kwh``); other resources' quotas are in ``others``."""
    others: Mapping[Resource, ResourceTariff] = field(default_factory=dict)
    """The tariffs (and quotas) of the resources other than electricity the plan bills."""

    def tariff_for(self, resource: Resource) -> ResourceTariff | None:
        """The plan's tariff and quota for ``resource``; None: the plan does not bill it."""
        if resource is Resource.ELECTRICITY:
            return ResourceTariff(tariff_id=self.tariff_id, quota=self.quota)
        return self.others.get(resource)

    def billing_plan(self, currency: str) -> Plan:
        match self.kind:
            case PlanKind.POSTPAID:
                return PostpaidPlan(
                    billing_day=self.billing_day,
                    due_days=self.due_days,
                    grace_days=self.grace_days,
                )
            case PlanKind.PREPAID:
                return PrepaidPlan(
                    low_balance=Money(currency=currency, minor=self.low_balance_minor),
                    credit_limit=Money(currency=currency, minor=self.credit_limit_minor),
                    reconnect_minimum=Money(currency=currency, minor=self.reconnect_minimum_minor),
                    grace=timedelta(days=self.grace_days),
                )
            case _:
                assert_never(self.kind)


@dataclass(frozen=True, kw_only=True)
class TenantRecord:
    id: str
    name: str
    plan_id: str
    exempt: bool
    exempt_until_us: int | None
    exempt_reason: str
    cutoff_approved: bool
    archived_at_us: int | None = None


@dataclass(frozen=True, kw_only=True)
class PointRecord:
    """A metering point's kind; common points also say how they are shared and priced."""

    id: str
    name: str
    kind: str
    space_id: str | None
    allocation: str | None
    tariff_id: str | None
    max_power_w: int = DEFAULT_MAX_POWER_W
    """Read as the most base units per hour of the point's resource (Wh/h = W, L/h)."""
    resource: Resource = Resource.ELECTRICITY


@dataclass(frozen=True, kw_only=True)
class Catalog:
    currency: str
    zone: ZoneInfo
    tenants: Mapping[str, TenantRecord]
    """Live tenants: listed, published, open to operator actions."""
    archived_tenants: Mapping[str, TenantRecord]
    """Archived tenants: their journal, statements and late readings are still theirs."""
    plans: Mapping[str, PlanSettings]
    schedules: Mapping[str, TariffSchedule]
    tariff_resources: Mapping[str, Resource]
    assignments: tuple[Assignment, ...]
    points: frozenset[str]
    point_records: Mapping[str, PointRecord]
    space_areas: Mapping[str, Decimal | None]
    by_point: Mapping[str, tuple[Assignment, ...]] = field(init=False, repr=False)
    by_tenant: Mapping[str, tuple[Assignment, ...]] = field(init=False, repr=False)
    """Each tenant's assignments (a tenant's state is judged after every batch of readings)."""

    def __post_init__(self) -> None:
        by_point: dict[str, list[Assignment]] = {}
        by_tenant: dict[str, list[Assignment]] = {}
        for item in self.assignments:
            by_point.setdefault(item.point_id, []).append(item)
            by_tenant.setdefault(item.tenant_id, []).append(item)
        object.__setattr__(self, "by_point", {k: tuple(v) for k, v in by_point.items()})
        object.__setattr__(self, "by_tenant", {k: tuple(v) for k, v in by_tenant.items()})

    def record_of(self, tenant_id: str) -> TenantRecord:
        """A live or archived tenant."""
        record = self.tenants.get(tenant_id)
        return self.archived_tenants[tenant_id] if record is None else record

    def plan_of(self, tenant_id: str) -> PlanSettings:
        return self.plans[self.record_of(tenant_id).plan_id]

    def limit_of(self, point_id: str, unit: Unit) -> PointLimit:
        """The point's resource and maximum per hour; for a point not registered yet, the
        default of a resource read in ``unit`` (its stored readings' unit is checked by
        ``readings_store``)."""
        record = self.point_records.get(point_id)
        if record is None:
            return PointLimit.unregistered(unit)
        return PointLimit(record.resource, record.max_power_w)

    def resource_of(self, point_id: str) -> Resource:
        record = self.point_records.get(point_id)
        return Resource.ELECTRICITY if record is None else record.resource

    def points_of_kind(self, kind: str) -> list[PointRecord]:
        return [point for _, point in sorted(self.point_records.items()) if point.kind == kind]

    def schedule_of(
        self, tenant_id: str, resource: Resource = Resource.ELECTRICITY
    ) -> TariffSchedule | None:
        """The tenant's tariff for ``resource``; None when their plan does not bill it."""
        slot = self.plan_of(tenant_id).tariff_for(resource)
        return None if slot is None else self.schedules.get(slot.tariff_id)

    def points_of(self, tenant_id: str, at_us: int) -> list[str]:
        """The points the tenant holds at ``at_us``."""
        return sorted(
            {
                item.point_id
                for item in self.by_tenant.get(tenant_id, ())
                if item.start_us <= at_us < item.end_us
            }
        )


def _quota(amount: str | None, overage_rate: str | None) -> Quota | None:
    """A quota stored in the billing unit (kWh, m³), in base units (Wh, L)."""
    if amount is None:
        return None
    overage = None if overage_rate is None else Decimal(overage_rate)
    return Quota(included_wh=int(Decimal(amount) * 1000), overage_rate=overage)


def _plan_tariffs(connection: sa.Connection) -> dict[str, dict[Resource, ResourceTariff]]:
    found: dict[str, dict[Resource, ResourceTariff]] = {}
    for row in connection.execute(sa.select(plan_tariffs)):
        found.setdefault(row.plan_id, {})[Resource(row.resource)] = ResourceTariff(
            tariff_id=row.tariff_id, quota=_quota(row.quota, row.quota_overage_rate)
        )
    return found


def load_catalog(connection: sa.Connection) -> Catalog:
    site = connection.execute(sa.select(sites).where(sites.c.id == SITE_ID)).one()
    versions: dict[str, list[TariffVersion]] = {}
    for row in connection.execute(sa.select(tariff_versions)):
        versions.setdefault(row.tariff_id, []).append(
            TariffVersion(
                effective_from=from_us(row.effective_from_us),
                tariff=parse_tariff(decode_json(row.body)),
            )
        )
    records = [
        TenantRecord(
            id=row.id,
            name=row.name,
            plan_id=row.plan_id,
            exempt=row.exempt,
            exempt_until_us=row.exempt_until_us,
            exempt_reason=row.exempt_reason or "",
            cutoff_approved=row.cutoff_approved,
            archived_at_us=row.archived_at_us,
        )
        for row in connection.execute(sa.select(tenants))
    ]
    others = _plan_tariffs(connection)
    points = {
        row.id: PointRecord(
            id=row.id,
            name=row.name,
            kind=row.kind,
            space_id=row.space_id,
            allocation=row.allocation,
            tariff_id=row.tariff_id,
            max_power_w=row.max_power_w,
            resource=Resource(row.resource),
        )
        for row in connection.execute(sa.select(metering_points))
    }
    return Catalog(
        currency=site.currency,
        zone=ZoneInfo(site.timezone),
        tenants={record.id: record for record in records if record.archived_at_us is None},
        archived_tenants={
            record.id: record for record in records if record.archived_at_us is not None
        },
        plans={
            row.id: PlanSettings(
                id=row.id,
                name=row.name,
                kind=PlanKind(row.kind),
                tariff_id=row.tariff_id,
                low_balance_minor=row.low_balance_threshold_minor,
                credit_limit_minor=row.credit_limit_minor,
                reconnect_minimum_minor=row.reconnect_minimum_minor,
                billing_day=row.billing_day,
                due_days=row.due_days,
                grace_days=row.grace_days,
                quota=_quota(row.quota_kwh, row.quota_overage_rate),
                others=others.get(row.id, {}),
            )
            for row in connection.execute(sa.select(plans))
        },
        schedules={tariff_id: TariffSchedule.of(items) for tariff_id, items in versions.items()},
        tariff_resources={
            row.id: Resource(row.resource)
            for row in connection.execute(sa.select(tariffs.c.id, tariffs.c.resource))
        },
        assignments=tuple(
            Assignment(
                point_id=row.point_id,
                tenant_id=row.tenant_id,
                start=from_us(row.start_us),
                end=None if row.end_us is None else from_us(row.end_us),
            )
            for row in connection.execute(sa.select(assignments).order_by(assignments.c.id))
        ),
        points=frozenset(points),
        point_records=points,
        space_areas={
            row.id: None if row.area_m2 is None else Decimal(row.area_m2)
            for row in connection.execute(sa.select(spaces.c.id, spaces.c.area_m2))
        },
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Site:
    timezone: str
    currency: str


def site(connection: sa.Connection) -> Site | None:
    """The building's settings; None before the ledger's first start."""
    row = connection.execute(sa.select(sites).where(sites.c.id == SITE_ID)).first()
    return None if row is None else Site(timezone=row.timezone, currency=row.currency)


def create_site(connection: sa.Connection, *, timezone: str, currency: str, at_us: int) -> None:
    connection.execute(
        sites.insert().values(
            id=SITE_ID, name="Building", timezone=timezone, currency=currency, created_at_us=at_us
        )
    )


def set_timezone(connection: sa.Connection, timezone: str) -> None:
    connection.execute(sites.update().where(sites.c.id == SITE_ID).values(timezone=timezone))
