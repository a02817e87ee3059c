"""What ledger 0.2 wrote, in plain SQL that works at every revision: for upgrade tests.

Its journal entries went in before their legs and carried plain SHA-256 hashes; its readings
and statements had no hash at all.
"""

import json

import sqlalchemy as sa

from tenant_ledger.db import journal_store
from tenant_ledger.journal import CASH, GENESIS_HASH, Entry, Leg, Posting, chain, tenant_account


def top_up(amount: int, tenant_id: str = "t1") -> Posting:
    return Posting(
        kind="top_up",
        currency="EUR",
        actor="ana",
        reason="cash",
        tenant_id=tenant_id,
        legs=(
            Leg(account=tenant_account(tenant_id), amount_minor=amount),
            Leg(account=CASH, amount_minor=-amount),
        ),
    )


def post(engine: sa.Engine, amount: int) -> None:
    """A top-up of t1 with a plain hash, inserted the way its revision accepts it."""
    with engine.begin() as connection:
        tail = journal_store.head(connection)
        entry_id, previous = (tail[0] + 1, tail[1]) if tail else (1, GENESIS_HASH)
        entry = chain(entry_id, 1, top_up(amount), previous)
        # Revisions from 0009 accept an entry only once its legs balance; earlier ones check the
        # legs' foreign key at once, so the entry has to come first there.
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        legs_first = str(version) >= "0009"
        if legs_first:
            _legs(connection, entry)
        connection.execute(
            sa.text(
                "INSERT INTO journal (id, ts_us, kind, tenant_id, currency, actor, reason, "
                "prev_hash, hash) VALUES (:id, 1, 'top_up', 't1', 'EUR', 'ana', 'cash', "
                ":prev, :hash)"
            ),
            {"id": entry.id, "prev": entry.prev_hash, "hash": entry.hash},
        )
        if not legs_first:
            _legs(connection, entry)


def _legs(connection: sa.Connection, entry: Entry) -> None:
    for position, leg in enumerate(entry.posting.legs):
        connection.execute(
            sa.text(
                "INSERT INTO journal_legs (entry_id, position, account, amount_minor) "
                "VALUES (:entry, :position, :account, :amount)"
            ),
            {
                "entry": entry.id,
                "position": position,
                "account": leg.account,
                "amount": leg.amount_minor,
            },
        )


def building(engine: sa.Engine) -> None:
    """A tenant t1 on plan main and a metering point p1, with the columns every revision has."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO sites (id, name, timezone, currency, created_at_us) "
            "VALUES ('main', 'B', 'UTC', 'EUR', 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO tariffs (id, name, currency) VALUES ('std', 'S', 'EUR')"
        )
        connection.exec_driver_sql(
            "INSERT INTO plans (id, name, kind, tariff_id, low_balance_threshold_minor, "
            "credit_limit_minor, reconnect_minimum_minor, billing_day, due_days, grace_days) "
            "VALUES ('main', 'M', 'prepaid', 'std', 0, 0, 0, 1, 0, 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO tenants (id, site_id, name, plan_id, exempt, cutoff_approved, "
            "created_at_us) VALUES ('t1', 'main', 'T', 'main', false, false, 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO metering_points (id, name, created_at_us) VALUES ('p1', 'P', 0)"
        )


def readings(engine: sa.Engine, *pairs: tuple[int, int]) -> None:
    with engine.begin() as connection:
        for ts, energy_wh in pairs:
            connection.execute(
                sa.text(
                    "INSERT INTO readings (point_id, ts, energy_wh, received_at_us) "
                    "VALUES ('p1', :ts, :energy, 0)"
                ),
                {"ts": ts, "energy": energy_wh},
            )


def statement(engine: sa.Engine, period_start_us: int, period_end_us: int) -> None:
    """Revision 0002 on (statements)."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO statements (tenant_id, period_start_us, period_end_us, "
                "issued_at_us, due_at_us, currency, total_minor, body) VALUES "
                "('t1', :start, :end, :end, :end, 'EUR', 0, :body)"
            ),
            {"start": period_start_us, "end": period_end_us, "body": json.dumps({"lines": []})},
        )
