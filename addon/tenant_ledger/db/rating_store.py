"""The rater's memory: per point the last rated reading, per tenant and period what is rated."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import sqlalchemy as sa

from tenant_ledger.billing.plausibility import Register
from tenant_ledger.billing.resources import Resource
from tenant_ledger.db import point_numbers
from tenant_ledger.db.schema import rating_cursors, rating_periods, reading_points, readings


@dataclass(frozen=True, kw_only=True, slots=True)
class RatedPeriod:
    energy_wh: int
    posted_minor: int
    carry: Fraction
    """The sub-minor-unit remainder not posted yet."""


def cursors(connection: sa.Connection, point_ids: Sequence[str]) -> dict[str, Register]:
    """Each point's last rated reading; points never rated are left out."""
    query = sa.select(rating_cursors).where(rating_cursors.c.point_id.in_(point_ids))
    return {
        row.point_id: Register(ts=row.ts, energy_wh=row.energy_wh)
        for row in connection.execute(query)
    }


def readings_after(
    connection: sa.Connection, point_ids: Sequence[str], cursors: Mapping[str, Register]
) -> dict[str, list[Register]]:
    """Each point's readings newer than its cursor (all, without one), oldest first.

    Points with a cursor are read through it (one index range per point, however long their
    history), the others whole (a point's first rating).
    """
    point_id = reading_points.c.point_id
    columns = sa.select(point_id, readings.c.ts, readings.c.energy_wh)
    after = columns.select_from(
        point_numbers.WITH_POINT_IDS.join(
            rating_cursors,
            (rating_cursors.c.point_id == point_id) & (readings.c.ts > rating_cursors.c.ts),
        )
    )
    rated = [point for point in point_ids if point in cursors]
    first = [point for point in point_ids if point not in cursors]
    found: dict[str, list[Register]] = {}
    for query in (
        after.where(rating_cursors.c.point_id.in_(rated)) if rated else None,
        columns.select_from(point_numbers.WITH_POINT_IDS).where(point_id.in_(first))
        if first
        else None,
    ):
        if query is None:
            continue
        rows = connection.execute(query.order_by(readings.c.point, readings.c.ts))
        for point, ts, energy_wh in rows.tuples():
            found.setdefault(point, []).append(Register(ts, energy_wh))
    return found


def move_cursors(
    connection: sa.Connection, to: Mapping[str, Register], existing: Iterable[str]
) -> None:
    """Set the points' cursors (``existing``: points that had one)."""
    had = set(existing)
    moved = [
        {"point": point_id, "ts": register.ts, "energy_wh": register.energy_wh}
        for point_id, register in to.items()
        if point_id in had
    ]
    created = [
        {"point_id": point_id, "ts": register.ts, "energy_wh": register.energy_wh}
        for point_id, register in to.items()
        if point_id not in had
    ]
    if moved:
        connection.execute(
            # The parameters named as columns are what the update sets.
            rating_cursors.update().where(rating_cursors.c.point_id == sa.bindparam("point")),
            moved,
        )
    if created:
        connection.execute(rating_cursors.insert(), created)


@dataclass(frozen=True, slots=True)
class PeriodOf:
    """A tenant's billing period of one resource: the key of its rating row."""

    tenant_id: str
    resource: Resource
    start_us: int


def rated_periods(
    connection: sa.Connection, keys: Iterable[PeriodOf]
) -> dict[PeriodOf, RatedPeriod]:
    """What is rated so far in each of the periods; periods not rated yet are left out."""
    wanted = set(keys)
    if not wanted:
        return {}
    query = sa.select(rating_periods).where(
        rating_periods.c.tenant_id.in_({key.tenant_id for key in wanted})
        & rating_periods.c.period_start_us.in_({key.start_us for key in wanted})
    )
    found = {}
    for row in connection.execute(query):
        key = PeriodOf(row.tenant_id, Resource(row.resource), row.period_start_us)
        if key in wanted:
            found[key] = RatedPeriod(
                energy_wh=row.energy_wh, posted_minor=row.posted_minor, carry=Fraction(row.carry)
            )
    return found


def save_periods(
    connection: sa.Connection, rated: Mapping[PeriodOf, RatedPeriod], existing: Iterable[PeriodOf]
) -> None:
    """Store what is rated in each period (``existing``: periods that had a row)."""
    had = set(existing)
    rows = [
        {
            "tenant": key.tenant_id,
            "kind": key.resource.value,
            "start": key.start_us,
            "energy_wh": period.energy_wh,
            "posted_minor": period.posted_minor,
            "carry": str(period.carry),
        }
        for key, period in rated.items()
    ]
    updated = [row for row, key in zip(rows, rated, strict=True) if key in had]
    created = [row for row, key in zip(rows, rated, strict=True) if key not in had]
    if updated:
        connection.execute(
            rating_periods.update()
            # The parameters named as columns are what the update sets.
            .where(
                (rating_periods.c.tenant_id == sa.bindparam("tenant"))
                & (rating_periods.c.resource == sa.bindparam("kind"))
                & (rating_periods.c.period_start_us == sa.bindparam("start"))
            ),
            updated,
        )
    if created:
        connection.execute(
            rating_periods.insert().values(
                tenant_id=sa.bindparam("tenant"),
                resource=sa.bindparam("kind"),
                period_start_us=sa.bindparam("start"),
            ),
            created,
        )
