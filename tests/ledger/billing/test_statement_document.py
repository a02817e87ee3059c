"""The statement document: every generated month adds up, reads back and prints any name."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings, strategies as st
import pytest

from tenant_ledger.billing import (
    Assignment,
    Credit,
    CreditKind,
    Money,
    Reading,
    ResourceBilling,
    build_statement,
)
from tenant_ledger.billing.resources import Resource, billing_unit
from tenant_ledger.billing.statement_document import (
    Issuer,
    LateEnergy,
    build_document,
    due_date,
    from_json,
    to_json,
    validate_document,
)
from tenant_ledger.i18n import Formats
from tenant_ledger.statement_render import statement_table, to_csv, to_pdf
from tests.ledger.conftest import pdf_text

from .helpers import BERLIN, at, flat

NOV_1 = at("2026-11-01T00:00:00+01:00")
DEC_1 = at("2026-12-01T00:00:00+01:00")
ISSUER = Issuer(name="Hausverwaltung Müller", address="Hauptstr. 1; 10115 Berlin", tax_name="VAT")
SECONDS = int((DEC_1 - NOV_1).total_seconds())


@st.composite
def months(draw: st.DrawFn) -> dict[str, object]:
    """A month of one tenant: tariff, readings, move-in, credits, late energy, opening."""
    rate = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2"), places=4))
    standing = draw(st.decimals(min_value=Decimal(0), max_value=Decimal("3"), places=2))
    tax = draw(st.sampled_from(["0", "0.07", "0.13", "0.19", "0.2"]))
    offsets = sorted(draw(st.sets(st.integers(-86_400, SECONDS + 86_400), min_size=2, max_size=12)))
    steps = draw(st.lists(st.integers(0, 50_000), min_size=len(offsets), max_size=len(offsets)))
    register = 0
    readings = []
    for offset, step in zip(offsets, steps, strict=True):
        register += step
        readings.append(
            Reading(point_id="room", ts=NOV_1 + timedelta(seconds=offset), energy_wh=register)
        )
    move_in = NOV_1 + timedelta(seconds=draw(st.integers(-86_400 * 40, SECONDS - 3600)))
    credits = [
        Credit(
            ts=NOV_1 + timedelta(seconds=draw(st.integers(0, SECONDS - 1))),
            kind=draw(st.sampled_from(list(CreditKind))),
            amount=Money(currency="EUR", minor=draw(st.integers(-10_000, 100_000))),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    late = tuple(
        LateEnergy(
            period_first_day=date(2026, 10, 1),
            energy_wh=draw(st.integers(0, 10_000)),
            amount_minor=draw(st.integers(-500, 5_000)),
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    return {
        "schedule": flat(str(rate), standing_charge_per_day=str(standing), tax_rate=tax),
        "readings": readings,
        "assignments": [Assignment(point_id="room", tenant_id="t", start=move_in)],
        "credits": credits,
        "late": late,
        "opening": draw(st.integers(-100_000, 100_000)),
        "issued": DEC_1 + timedelta(seconds=draw(st.integers(0, 86_400 * 20))),
        "due_days": draw(st.integers(0, 30)),
    }


def _document(month: dict[str, object], name: str = "Anna") -> object:
    statement = build_statement(
        tenant_id="t",
        start=NOV_1,
        end=DEC_1,
        schedule=month["schedule"],  # type: ignore[arg-type]
        readings=month["readings"],  # type: ignore[arg-type]
        assignments=month["assignments"],  # type: ignore[arg-type]
        opening_balance=Money(currency="EUR", minor=month["opening"]),  # type: ignore[arg-type]
        credits=month["credits"],  # type: ignore[arg-type]
    )
    return build_document(
        statement,
        number="2026-00042",
        issuer=ISSUER,
        tenant_name=name,
        point_names={"room": "Room 101"},
        zone=BERLIN,
        issued=month["issued"],  # type: ignore[arg-type]
        due_days=month["due_days"],  # type: ignore[arg-type]
        late=month["late"],  # type: ignore[arg-type]
    )


@settings(max_examples=150, deadline=None)
@given(months())
def test_every_generated_month_adds_up_line_by_line(month: dict[str, object]) -> None:
    document = _document(month)
    assert validate_document(document) == []  # type: ignore[arg-type]
    table = statement_table(document, Formats("en", "EUR"))  # type: ignore[arg-type]
    # Every amount the closing balance is made of is a line of its own.
    shown = [row for row in table if row.amount]
    assert len(shown) == (
        2  # opening, closing
        + len(document.charges)  # type: ignore[attr-defined]
        + 2  # net, total
        + len(document.taxes)  # type: ignore[attr-defined]
        + len(document.late)  # type: ignore[attr-defined]
        + len(document.credits)  # type: ignore[attr-defined]
    )
    assert from_json(to_json(document)) == document  # type: ignore[arg-type]


@st.composite
def two_resource_months(draw: st.DrawFn) -> tuple[dict[str, object], dict[str, object]]:
    """An electricity month and, on another point, a month of another resource."""
    month = draw(months())
    other = draw(months())
    resource = draw(st.sampled_from([Resource.WATER, Resource.GAS, Resource.HEAT]))
    other["resource"] = resource
    other["readings"] = [
        Reading(point_id="meter", ts=r.ts, energy_wh=r.energy_wh)
        for r in other["readings"]  # type: ignore[attr-defined]
    ]
    other["assignments"] = [
        Assignment(point_id="meter", tenant_id="t", start=a.start)
        for a in other["assignments"]  # type: ignore[attr-defined]
    ]
    return month, other


def _alone(month: dict[str, object]) -> object:
    """The statement of one resource's readings billed as if it were the only one."""
    return build_statement(
        tenant_id="t",
        start=NOV_1,
        end=DEC_1,
        schedule=month["schedule"],  # type: ignore[arg-type]
        readings=month["readings"],  # type: ignore[arg-type]
        assignments=month["assignments"],  # type: ignore[arg-type]
        opening_balance=Money.zero("EUR"),
    )


@settings(max_examples=150, deadline=None)
@given(two_resource_months())
def test_a_second_resource_gets_its_own_exact_section(
    months_pair: tuple[dict[str, object], dict[str, object]],
) -> None:
    """Per resource: its section is what its readings and tariff alone would bill, line by
    line (the arithmetic per 1000 L is the arithmetic per kWh); one net, tax and total."""
    month, other = months_pair
    resource = other["resource"]
    statement = build_statement(
        tenant_id="t",
        start=NOV_1,
        end=DEC_1,
        schedule=month["schedule"],  # type: ignore[arg-type]
        readings=month["readings"],  # type: ignore[arg-type]
        assignments=month["assignments"],  # type: ignore[arg-type]
        opening_balance=Money(currency="EUR", minor=month["opening"]),  # type: ignore[arg-type]
        credits=month["credits"],  # type: ignore[arg-type]
        others=[
            ResourceBilling(
                resource=resource,  # type: ignore[arg-type]
                schedule=other["schedule"],  # type: ignore[arg-type]
                readings=tuple(other["readings"]),  # type: ignore[arg-type]
                assignments=tuple(other["assignments"]),  # type: ignore[arg-type]
            )
        ],
    )
    electricity, alone = _alone(month), _alone(other)
    (section,) = statement.sections
    assert section.resource is resource
    assert section.usage == alone.energy_wh  # type: ignore[attr-defined]
    assert [item.amount for item in section.lines] == [
        item.amount
        for item in alone.charges.lines  # type: ignore[attr-defined]
    ]
    assert statement.energy_wh == electricity.energy_wh  # type: ignore[attr-defined]
    assert statement.charges.net == electricity.charges.net + alone.charges.net  # type: ignore[attr-defined]
    document = build_document(
        statement,
        number="2026-00042",
        issuer=ISSUER,
        tenant_name="Anna",
        point_names={"room": "Room 101", "meter": "Cold water"},
        zone=BERLIN,
        issued=month["issued"],  # type: ignore[arg-type]
        due_days=month["due_days"],  # type: ignore[arg-type]
        late=month["late"],  # type: ignore[arg-type]
    )
    assert validate_document(document) == []
    assert [s.resource for s in document.sections] == [Resource.ELECTRICITY, resource]
    assert sum(s.subtotal_minor for s in document.sections) == document.net_minor
    assert {row.unit for row in document.charges if row.resource is resource} <= {
        billing_unit(resource),
        "day",
    }
    assert from_json(to_json(document)) == document
    table = statement_table(document, Formats("de", "EUR"))
    assert len([row for row in table if row.amount]) == (
        2
        + len(document.charges)
        + len(document.sections)
        + 2
        + len(document.taxes)
        + len(document.late)
        + len(document.credits)
    )
    to_csv(document)


def test_due_date_is_always_after_the_issue_date() -> None:
    assert due_date(date(2026, 12, 5), 0) == date(2026, 12, 6)
    assert due_date(date(2026, 12, 5), 14) == date(2026, 12, 19)


def _simple_month() -> dict[str, object]:
    return {
        "schedule": flat("0.30", standing_charge_per_day="0.50", tax_rate="0.13"),
        "readings": [
            Reading(point_id="room", ts=NOV_1, energy_wh=1_000),
            Reading(point_id="room", ts=DEC_1, energy_wh=101_000),
        ],
        "assignments": [Assignment(point_id="room", tenant_id="t", start=NOV_1)],
        "credits": [
            Credit(
                ts=at("2026-11-10T12:00:00+01:00"),
                kind=CreditKind.TOP_UP,
                amount=Money.of("20.00", "EUR"),
            )
        ],
        "late": (),
        "opening": 0,
        "issued": datetime(2026, 12, 5, 6, tzinfo=UTC),
        "due_days": 14,
    }


@pytest.mark.parametrize(
    "name", ["王小明", "Иван Петров", "محمد علي", "Zoë Ødegård-Łukasiewicz", "Nguyễn Thị Hồng"]
)
def test_any_script_prints_in_the_pdf(name: str) -> None:
    document = _document(_simple_month(), name)
    text = pdf_text(to_pdf(document, Formats("en", "EUR")))  # type: ignore[arg-type]
    assert name in text
    assert "Room 101" in text
    assert "Hausverwaltung Müller" in text


def test_a_bill_reads_like_a_bill_in_english_and_german() -> None:
    document = _document(_simple_month())
    english = pdf_text(to_pdf(document, Formats("en", "EUR")))  # type: ignore[arg-type]
    # 100 kWh x 0.30 + 30 days x 0.50 = 45.00 net, VAT 13 % 5.85, total 50.85
    for expected in (
        "Statement 2026-00042",
        "Period: Nov 1, 2026 - Nov 30, 2026",
        "Issued: Dec 5, 2026",
        "Due: Dec 19, 2026",
        "VAT 13 %",
        "45.00",
        "5.85",
        "50.85",
        "Closing balance",
        "-30.85",
        "Amount due: €30.85",
        "Room 101",
        "1.000 (Nov 1, 2026)",
        "101.000 (Dec 1, 2026)",
    ):
        assert expected in english, expected
    german = pdf_text(to_pdf(document, Formats("de", "EUR")))  # type: ignore[arg-type]
    for expected in (
        "Abrechnung 2026-00042",
        "Zeitraum: 01.11.2026 - 30.11.2026",
        "Fällig: 19.12.2026",
        "VAT 13 %",
        "45,00",
        "50,85",
        "Schlusssaldo",
        "-30,85",
        "Zu zahlen: 30,85 €",
    ):
        assert expected in german, expected


def test_csv_has_every_line_in_plain_decimals() -> None:
    text = to_csv(_document(_simple_month()))  # type: ignore[arg-type]
    assert "charge,energy,100.000,kWh,0.30,30.00" in text
    assert "charge,standing,30.00,day,0.50,15.00" in text
    assert "tax,VAT 13 %,45.00,,,5.85" in text
    assert "closing,closing balance,,,,-30.85" in text
    assert "reading,Room 101 first 2026-11-01T00:00:00+01:00,1.000,kWh,," in text
