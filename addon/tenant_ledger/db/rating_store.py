"""The rater's memory: per point the last rated reading, per tenant and period what is rated."""

from dataclasses import dataclass
from fractions import Fraction

import sqlalchemy as sa

from tenant_ledger.billing.plausibility import Register
from tenant_ledger.billing.resources import Resource
from tenant_ledger.db import point_numbers
from tenant_ledger.db.schema import rating_cursors, rating_periods, readings


@dataclass(frozen=True, kw_only=True, slots=True)
class RatedPeriod:
    energy_wh: int
    posted_minor: int
    carry: Fraction
    """The sub-minor-unit remainder not posted yet."""


def cursor(connection: sa.Connection, point_id: str) -> Register | None:
    """The point's last rated reading; None before its first rating."""
    row = connection.execute(
        sa.select(rating_cursors.c.ts, rating_cursors.c.energy_wh).where(
            rating_cursors.c.point_id == point_id
        )
    ).first()
    return None if row is None else Register(ts=row.ts, energy_wh=row.energy_wh)


def readings_after(connection: sa.Connection, point_id: str, after: int | None) -> list[Register]:
    """The point's readings newer than epoch second ``after`` (all when None), oldest first."""
    query = sa.select(readings.c.ts, readings.c.energy_wh).where(point_numbers.of_point(point_id))
    if after is not None:
        query = query.where(readings.c.ts > after)
    return [
        Register(ts=row.ts, energy_wh=row.energy_wh)
        for row in connection.execute(query.order_by(readings.c.ts))
    ]


def move_cursor(connection: sa.Connection, point_id: str, to: Register, *, existed: bool) -> None:
    values = {"ts": to.ts, "energy_wh": to.energy_wh}
    if existed:
        connection.execute(
            rating_cursors.update().where(rating_cursors.c.point_id == point_id).values(**values)
        )
    else:
        connection.execute(rating_cursors.insert().values(point_id=point_id, **values))


@dataclass(frozen=True, slots=True)
class PeriodOf:
    """A tenant's billing period of one resource: the key of its rating row."""

    tenant_id: str
    resource: Resource
    start_us: int


def _period_key(key: PeriodOf) -> sa.ColumnElement[bool]:
    return (
        (rating_periods.c.tenant_id == key.tenant_id)
        & (rating_periods.c.resource == key.resource.value)
        & (rating_periods.c.period_start_us == key.start_us)
    )


def rated_period(connection: sa.Connection, key: PeriodOf) -> RatedPeriod | None:
    row = connection.execute(sa.select(rating_periods).where(_period_key(key))).first()
    if row is None:
        return None
    return RatedPeriod(
        energy_wh=row.energy_wh, posted_minor=row.posted_minor, carry=Fraction(row.carry)
    )


def save_period(
    connection: sa.Connection, key: PeriodOf, rated: RatedPeriod, *, existed: bool
) -> None:
    values = {
        "energy_wh": rated.energy_wh,
        "posted_minor": rated.posted_minor,
        "carry": str(rated.carry),
    }
    if existed:
        connection.execute(rating_periods.update().where(_period_key(key)).values(**values))
    else:
        connection.execute(
            rating_periods.insert().values(
                tenant_id=key.tenant_id,
                resource=key.resource.value,
                period_start_us=key.start_us,
                **values,
            )
        )
