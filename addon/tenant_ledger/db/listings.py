"""Read-only queries behind the API's lists: plain rows as dicts, newest first where it says so."""

from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import point_numbers
from tenant_ledger.db.schema import (
    api_tokens,
    assignments,
    audit_log,
    ha_user_links,
    metering_points,
    parked_messages,
    plan_tariffs,
    plans,
    quarantined_readings,
    reading_conflicts,
    readings,
    spaces,
    statements,
    tariff_versions,
    tariffs,
)

type Row = dict[str, Any]


def _rows(connection: sa.Connection, query: sa.Select[Any]) -> list[Row]:
    return [dict(row._mapping) for row in connection.execute(query)]


def spaces_rows(connection: sa.Connection) -> list[Row]:
    return _rows(connection, sa.select(spaces).order_by(spaces.c.id))


def point_rows(connection: sa.Connection) -> list[Row]:
    return _rows(connection, sa.select(metering_points).order_by(metering_points.c.id))


def assignment_rows(connection: sa.Connection) -> list[Row]:
    return _rows(connection, sa.select(assignments).order_by(assignments.c.id))


def plan_rows(connection: sa.Connection) -> list[Row]:
    """Every plan with the tariff (and quota) of each resource other than electricity."""
    others: dict[str, dict[str, Row]] = {}
    for row in _rows(connection, sa.select(plan_tariffs).order_by(plan_tariffs.c.resource)):
        others.setdefault(row.pop("plan_id"), {})[row.pop("resource")] = row
    return [
        row | {"resources": others.get(row["id"], {})}
        for row in _rows(connection, sa.select(plans).order_by(plans.c.id))
    ]


def tariff_version_rows(connection: sa.Connection) -> list[Row]:
    """Every tariff version with the resource its tariff prices."""
    query = (
        sa.select(tariff_versions, tariffs.c.resource)
        .join(tariffs, tariffs.c.id == tariff_versions.c.tariff_id)
        .order_by(tariff_versions.c.id)
    )
    return _rows(connection, query)


def ha_user_rows(connection: sa.Connection, tenant_id: str) -> list[Row]:
    return _rows(
        connection,
        sa.select(ha_user_links)
        .where(ha_user_links.c.tenant_id == tenant_id)
        .order_by(ha_user_links.c.user_id),
    )


def reading_rows(
    connection: sa.Connection, point_id: str, since: int, until: int, limit: int
) -> list[Row]:
    return _rows(
        connection,
        sa.select(readings.c.ts, readings.c.energy_wh, readings.c.seq)
        .where(point_numbers.of_point(point_id) & readings.c.ts.between(since, until))
        .order_by(readings.c.ts)
        .limit(limit),
    )


def conflict_rows(connection: sa.Connection, point_id: str | None, limit: int) -> list[Row]:
    query = sa.select(reading_conflicts).order_by(reading_conflicts.c.id.desc()).limit(limit)
    if point_id:
        query = query.where(reading_conflicts.c.point_id == point_id)
    return _rows(connection, query)


def quarantined(connection: sa.Connection, point_id: str | None, limit: int) -> list[Row]:
    """Quarantined readings newest first (of ``point_id`` when given), as the API shows them."""
    query = sa.select(quarantined_readings).order_by(quarantined_readings.c.id.desc()).limit(limit)
    if point_id:
        query = query.where(quarantined_readings.c.point_id == point_id)
    return [_quarantine_item(row) for row in _rows(connection, query)]


def parked(connection: sa.Connection, limit: int) -> list[Row]:
    """Unreadable messages newest first, as the API shows them."""
    query = sa.select(parked_messages).order_by(parked_messages.c.id.desc()).limit(limit)
    return [_parked_item(row) for row in _rows(connection, query)]


def quarantined_one(connection: sa.Connection, quarantine_id: int) -> Row:
    query = sa.select(quarantined_readings).where(quarantined_readings.c.id == quarantine_id)
    return _quarantine_item(_rows(connection, query)[0])


def statement_rows(connection: sa.Connection, tenant_id: str) -> list[Row]:
    return _rows(
        connection,
        sa.select(statements.c.id, statements.c.period_start_us, statements.c.total_minor)
        .where(statements.c.tenant_id == tenant_id)
        .order_by(statements.c.period_start_us.desc()),
    )


def statement_body(connection: sa.Connection, statement_id: int) -> str | None:
    query = sa.select(statements.c.body).where(statements.c.id == statement_id)
    body: str | None = connection.execute(query).scalar()
    return body


def audit_rows(connection: sa.Connection, limit: int) -> list[Row]:
    return _rows(connection, sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit))


def token_rows(connection: sa.Connection) -> list[Row]:
    return _rows(
        connection,
        sa.select(
            api_tokens.c.id,
            api_tokens.c.name,
            api_tokens.c.role,
            api_tokens.c.created_at_us,
            api_tokens.c.revoked_at_us,
        ).order_by(api_tokens.c.id),
    )


def _parked_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sha256": row["sha256"],
        "size_bytes": row["size_bytes"],
        "reason": row["reason"],
        "detail": row["detail"],
        "excerpt": row["excerpt"],
        "times": row["times"],
        "first_received_at": from_us(row["first_received_at_us"]).isoformat(),
        "last_received_at": from_us(row["last_received_at_us"]).isoformat(),
    }


def _quarantine_item(row: dict[str, Any]) -> dict[str, Any]:
    released = row["released_at_us"]
    return {
        "id": row["id"],
        "point": row["point_id"],
        "ts": row["ts"],
        "energy_wh": row["energy_wh"],
        "unit": row["unit"],
        "seq": row["seq"],
        "reason": row["reason"],
        "detail": row["detail"],
        "received_at": from_us(row["received_at_us"]).isoformat(),
        "released_at": None if released is None else from_us(released).isoformat(),
        "released_by": row["released_by"],
        "release_reason": row["release_reason"],
    }
