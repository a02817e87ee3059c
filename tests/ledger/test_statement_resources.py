"""A statement per tenant with one section per resource, reconciling with the balance.

Real SQLite file, the real rater, standing-charge run and statement run: a tenant holding an
electricity point and a cold-water meter for November gets one statement with an electricity
and a water section (usage in kWh and m³, each tariff's energy and standing charge, subtotals),
one net, tax and total, and the journal's postings for the period add up to that total to the
cent, postpaid (usage posted as read, the statement posts the rest) and prepaid (standing
charges of both tariffs posted day by day).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tenant_ledger import ledger_key, operations as ops, statement_run
from tenant_ledger.billing import PlanKind
from tenant_ledger.billing.resources import Resource, base_unit
from tenant_ledger.billing.statement_document import (
    ChargeKind,
    Issuer,
    StatementDocument,
    from_json,
    to_json,
)
from tenant_ledger.db import engine as db_engine, journal_store
from tenant_ledger.db.audit import Action
from tenant_ledger.db.catalog import PlanSettings, ResourceTariff, create_site, load_catalog
from tenant_ledger.db.readings_store import store_readings
from tenant_ledger.db.schema import journal
from tenant_ledger.i18n import Formats
from tenant_ledger.journal import PostingKind, tenant_account
from tenant_ledger.rater import rate_points
from tenant_ledger.readings_in import IncomingReading
from tenant_ledger.standing_run import post_daily_standing
from tenant_ledger.statement_render import statement_table, to_csv, to_pdf
from tests.ledger.conftest import FLAT_TARIFF, Api, FakeClock, pdf_text

KEY = ledger_key.generate(dict.fromkeys(ledger_key.SERIES, 1), dict.fromkeys(ledger_key.SERIES, 0))
NOV_1 = 1_793_487_600  # 2026-11-01 00:00 Europe/Berlin
DEC_1 = 1_796_079_600  # 2026-12-01 00:00 Europe/Berlin
DAY = 86_400
ISSUER = Issuer(name="Hausverwaltung", address="Hauptstr. 1", tax_name="VAT")
SETUP = Action(actor="test", reason="setup", now_us=NOV_1 * 1_000_000)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = db_engine.create_engine(db_engine.default_url(tmp_path), key=KEY)
    db_engine.upgrade(engine)
    with engine.begin() as connection:
        create_site(connection, timezone="Europe/Berlin", currency="EUR", at_us=0)
    yield engine
    engine.dispose()


def _tariff(
    connection: sa.Connection,
    tariff_id: str,
    resource: Resource,
    rate: str,
    standing: str,
    tax: str,
) -> None:
    ops.add_tariff_version(
        connection,
        load_catalog(connection),
        SETUP,
        tariff_id=tariff_id,
        name=None,
        body={
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "energy": {"type": "flat", "rate": rate},
            "standing_charge_per_day": standing,
            "tax_rate": tax,
        },
        effective_from_us=0,
        resource=resource,
    )


def _tenant_with_power_and_water(
    engine: sa.Engine, kind: PlanKind, held: tuple[str, ...] = ("room", "cold")
) -> None:
    """Tenant t: electricity at 0.30/kWh + 0.50/day at 19 %, water at 4.20/m³ + 0.10/day at
    7 %, holding ``held`` of room (electricity) and cold (water) from 1 November."""
    with engine.begin() as connection:
        _tariff(connection, "power", Resource.ELECTRICITY, "0.30", "0.50", "0.19")
        _tariff(connection, "water", Resource.WATER, "4.20", "0.10", "0.07")
        plan = PlanSettings(
            id="flat",
            name="Flat",
            kind=kind,
            tariff_id="power",
            low_balance_minor=0,
            credit_limit_minor=100_000,
            reconnect_minimum_minor=0,
            billing_day=1,
            due_days=14,
            grace_days=0,
            quota=None,
            others={Resource.WATER: ResourceTariff(tariff_id="water")},
        )
        ops.create_plan(connection, load_catalog(connection), SETUP, plan)
        ops.create_tenant(
            connection, load_catalog(connection), SETUP, tenant_id="t", name="T", plan_id="flat"
        )
        for point_id, resource in (("room", Resource.ELECTRICITY), ("cold", Resource.WATER)):
            ops.create_point(
                connection,
                load_catalog(connection),
                SETUP,
                point_id=point_id,
                name=point_id.title(),
                space_id=None,
                resource=resource,
            )
        ops.move_in(
            connection,
            load_catalog(connection),
            SETUP,
            tenant_id="t",
            point_ids=list(held),
            at_us=NOV_1 * 1_000_000,
        )


def _read_day(engine: sa.Engine, day: int) -> None:
    """Midnight readings of day ``day`` of November: 5 kWh and 150 L a day; rated at once."""
    ts = NOV_1 + day * DAY
    now_us = (ts + 60) * 1_000_000
    batch = [
        IncomingReading("room", ts, day * 5_000, base_unit(Resource.ELECTRICITY), None),
        IncomingReading("cold", ts, 1_000 + day * 150, base_unit(Resource.WATER), None),
    ]
    with engine.begin() as connection:
        result = store_readings(connection, batch, now_us, None)
        catalog = load_catalog(connection)
        rate_points(connection, catalog, result.points, now_us)
        post_daily_standing(connection, catalog, now_us)


def _issue(engine: sa.Engine, at: int = DEC_1 + 3600) -> StatementDocument:
    now_us = at * 1_000_000
    with engine.begin() as connection:
        catalog = load_catalog(connection)
        (due,) = statement_run.due_periods(connection, catalog, now_us)
        return statement_run.issue_statement(
            connection, catalog, due=due, issuer=ISSUER, now_us=now_us, splits={}
        )


def _postings(engine: sa.Engine) -> tuple[int, dict[str, int]]:
    """The tenant's balance and what each kind of posting took from it."""
    account = tenant_account("t")
    with engine.connect() as connection:
        balance = journal_store.balances(connection, [account])[account]
        kinds: dict[str, int] = {}
        for kind, amount in connection.execute(
            sa.select(journal.c.kind, sa.text("journal_legs.amount_minor"))
            .select_from(journal.join(sa.table("journal_legs"), sa.text("entry_id = journal.id")))
            .where(sa.text("account = :account").bindparams(account=account))
        ):
            kinds[kind] = kinds.get(kind, 0) - amount
    return balance, kinds


@pytest.mark.parametrize("kind", [PlanKind.POSTPAID, PlanKind.PREPAID])
def test_one_statement_bills_electricity_and_water_and_matches_the_balance(
    engine: sa.Engine, kind: PlanKind
) -> None:
    _tenant_with_power_and_water(engine, kind)
    for day in range(31):  # 1 November 00:00 to 1 December 00:00: 150 kWh and 4500 L
        _read_day(engine, day)

    document = _issue(engine)

    electricity, water = document.sections
    assert (electricity.resource, electricity.usage) == (Resource.ELECTRICITY, 150_000)
    assert (water.resource, water.usage) == (Resource.WATER, 4_500)
    rows = [
        (row.resource, row.kind, str(row.quantity), row.unit, row.amount_minor)
        for row in document.charges
    ]
    assert rows == [
        (Resource.ELECTRICITY, ChargeKind.ENERGY, "150.000", "kWh", 4500),
        (Resource.ELECTRICITY, ChargeKind.STANDING, "30.00", "day", 1500),
        (Resource.WATER, ChargeKind.ENERGY, "4.500", "m³", 1890),
        (Resource.WATER, ChargeKind.STANDING, "30.00", "day", 300),
    ]
    assert (electricity.subtotal_minor, water.subtotal_minor) == (6000, 2190)
    # 19 % of 60.00 and 7 % of 21.90 (1.533 -> 1.53): one tax per rate on the whole net.
    assert [(tax.base_minor, tax.tax_minor) for tax in document.taxes] == [
        (6000, 1140),
        (2190, 153),
    ]
    assert (document.net_minor, document.tax_minor, document.total_minor) == (8190, 1293, 9483)
    assert [meter.point_id for meter in water.meters] == ["cold"]
    assert [meter.point_id for meter in electricity.meters] == ["room"]
    assert document.energy_wh == 150_000  # electricity's usage alone, as before
    assert from_json(to_json(document)) == document
    formats = Formats("en", "EUR")
    table = [(row.label, row.quantity, row.amount) for row in statement_table(document, formats)]
    assert ("Electricity", "150.000 kWh", "60.00") in table
    assert ("Energy", "4.500 m³", "18.90") in table
    assert ("Water", "4.500 m³", "21.90") in table
    printed = pdf_text(to_pdf(document, formats))
    assert "Meters: Water" in printed
    assert "Usage (m³)" in printed
    assert "subtotal,water,4.500,m³,,21.90\n" in to_csv(document)

    balance, kinds = _postings(engine)
    # The statement reconciles: every posting of the period adds up to its total.
    assert sum(kinds.values()) == document.total_minor == -balance == -document.closing_minor
    # Usage was posted as read, per resource and rounded once: 45.00 x 1.19 and 18.90 x 1.07.
    assert kinds[PostingKind.ENERGY] == 5355 + 2022
    if kind is PlanKind.PREPAID:
        # Both tariffs' standing charges, day by day: 0.50 + 0.10 net, taxed 0.10 + 0.01.
        assert kinds[PostingKind.STANDING] == 30 * 71
    else:
        assert PostingKind.STANDING not in kinds


def test_an_electricity_only_tenant_has_no_sections(engine: sa.Engine) -> None:
    """A tenant without water points: the statement keeps its electricity-only shape."""
    _tenant_with_power_and_water(engine, PlanKind.POSTPAID, held=("room",))
    for day in range(31):
        _read_day(engine, day)
    document = _issue(engine)
    assert document.sections == ()
    body = to_json(document)
    assert "sections" not in body
    assert all("resource" not in line for line in body["lines"])
    assert (document.net_minor, document.tax_minor, document.total_minor) == (6000, 1140, 7140)
    balance, _kinds = _postings(engine)
    assert -balance == document.total_minor


def test_late_water_readings_of_an_issued_period_are_on_the_next_statement(
    engine: sa.Engine,
) -> None:
    """Meters silent after 28 November: November's statement shows what was read; the readings
    of 3 December put 3 days of usage back into November, shown as late on December's."""
    _tenant_with_power_and_water(engine, PlanKind.POSTPAID)
    for day in range(28):
        _read_day(engine, day)
    november = _issue(engine)
    assert [section.usage for section in november.sections] == [135_000, 4_050]
    for day in (32, 61):  # 3 December, 1 January
        _read_day(engine, day)
    december = _issue(engine, at=1_798_758_000 + 3600)  # 2027-01-01 01:00 Berlin

    # 450 L (4.50 m³ posted 20.22 instead of 4.05 m³ 18.20) and 15 kWh (53.55 instead of 48.20).
    assert [
        (row.resource, str(row.quantity), row.unit, row.amount_minor) for row in december.late
    ] == [(Resource.ELECTRICITY, "15.000", "kWh", 535), (Resource.WATER, "0.450", "m³", 202)]
    assert "m³" in to_json(december)["late_readings"][1]["unit"]
    assert from_json(to_json(december)) == december
    balance, _kinds = _postings(engine)
    assert balance == december.closing_minor
    assert december.opening_minor == november.closing_minor


async def test_the_api_serves_the_water_section_in_json_and_pdf(api: Api, clock: FakeClock) -> None:
    """Through the running ledger: contract v2 readings in, the statement's water section out."""
    await api.call(
        "POST",
        "/api/tariffs/w/versions",
        {
            "tariff": {**FLAT_TARIFF, "energy": {"type": "flat", "rate": "4.20"}},
            "resource": "water",
            "effective_from": "2026-01-01T00:00:00+01:00",
            "reason": "setup",
        },
        expect=201,
    )
    await api.building(
        tenants={"t1": "room"}, plan={"kind": "postpaid", "resources": {"water": {"tariff": "w"}}}
    )
    await api.call(
        "POST", "/api/points", {"id": "cold", "name": "Cold", "resource": "water"}, expect=201
    )
    await api.call(
        "POST",
        "/api/tenants/t1/move-in",
        {"points": ["cold"], "at": "2026-11-01T00:00:00+01:00"},
        expect=201,
    )
    readings = [
        {"point": point, "ts": NOV_1 + day * DAY, key: day * step}
        for day in (0, 30)
        for point, key, step in (("room", "energy_wh", 1_000), ("cold", "volume_l", 100))
    ]
    clock.now_us = (DEC_1 + 3600) * 1_000_000  # the readings are in the past
    await api.call("POST", "/api/readings", {"v": 2, "readings": readings}, expect=200)
    clock.now_us = (DEC_1 + 6 * 3600) * 1_000_000
    await api.call("POST", "/api/statements/run", expect=200)
    (listed,) = (await api.call("GET", "/api/tenants/t1/statements"))["statements"]
    document = await api.call("GET", f"/api/statements/{listed['id']}")

    # 30 kWh x 0.30 = 9.00 and 3 m³ x 4.20 = 12.60, no tax, no standing charge.
    assert [
        (s["resource"], s["unit"], s["usage"], s["subtotal"]) for s in document["sections"]
    ] == [("electricity", "kWh", "30.000", "9.00"), ("water", "m³", "3.000", "12.60")]
    assert [(line["unit"], line["amount"]) for line in document["lines"]] == [
        ("kWh", "9.00"),
        ("m³", "12.60"),
    ]
    assert document["total"] == "21.60"
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "-21.60"
    pdf = await api.client.get(
        f"/api/statements/{listed['id']}?format=pdf",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert "Meters: Water" in pdf_text(await pdf.read())
