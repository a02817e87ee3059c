"""Tariffs and their versions (each in force from an instant), and plans."""

from collections.abc import Mapping

import sqlalchemy as sa

from tenant_ledger.billing.resources import Resource
from tenant_ledger.db.schema import plan_tariffs, tariff_versions


def has_version_from(connection: sa.Connection, tariff_id: str, effective_from_us: int) -> bool:
    query = sa.select(tariff_versions.c.id).where(
        (tariff_versions.c.tariff_id == tariff_id)
        & (tariff_versions.c.effective_from_us == effective_from_us)
    )
    return connection.execute(query).first() is not None


def add_version(
    connection: sa.Connection, tariff_id: str, *, effective_from_us: int, body: str, at_us: int
) -> None:
    connection.execute(
        tariff_versions.insert().values(
            tariff_id=tariff_id, effective_from_us=effective_from_us, body=body, created_at_us=at_us
        )
    )


def latest_bodies(connection: sa.Connection) -> dict[str, str]:
    """Each tariff's newest version's body (JSON text)."""
    query = sa.select(tariff_versions.c.tariff_id, tariff_versions.c.body).order_by(
        tariff_versions.c.effective_from_us
    )
    return {row.tariff_id: row.body for row in connection.execute(query)}


def add_plan_tariffs(
    connection: sa.Connection, plan_id: str, slots: Mapping[Resource, dict[str, str | None]]
) -> None:
    """The plan's tariffs (and quotas) of resources other than electricity."""
    if slots:
        connection.execute(
            plan_tariffs.insert(),
            [
                {"plan_id": plan_id, "resource": resource.value, **values}
                for resource, values in slots.items()
            ],
        )
