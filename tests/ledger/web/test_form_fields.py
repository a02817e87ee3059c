"""Every new console field parser under any text: the value it stands for, or a FormError for
that field; never another exception."""

import contextlib
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings, strategies as st

from tenant_ledger.billing import TariffError, parse_tariff
from tenant_ledger.service import LedgerService
from tenant_ledger.web import forms, tariff_form
from tests.ledger.conftest import Api

from .conftest import LANDLORD, Browser

ANY_TEXT = st.text(st.characters(codec=None), max_size=60) | st.text(max_size=600)
NUMBER_LIKE = st.from_regex(r"-?[0-9]{0,14}([.,][0-9]{0,14})?", fullmatch=True)


def assert_field(err: forms.FormError | tariff_form.FieldError, *fields: str) -> None:
    assert err.field in fields, err


def assert_path(err: TariffError) -> None:
    """A tariff message lands on a field, or on the form for what has no field of its own."""
    assert tariff_form.field_of(err.path) or err.path in ("", "energy.schedule"), err


@settings(max_examples=300, deadline=None)
@given(typed=ANY_TEXT)
def test_a_name_is_one_printable_line_or_a_message(typed: str) -> None:
    try:
        name = forms.name("name", typed)
    except forms.FormError as err:
        assert_field(err, "name")
        return
    assert name == typed
    assert 0 < len(name) <= forms.MAX_NAME
    assert name.isprintable()


@settings(max_examples=300, deadline=None)
@given(typed=ANY_TEXT | NUMBER_LIKE)
def test_an_area_is_a_small_exact_decimal_or_a_message(typed: str) -> None:
    try:
        area = forms.area_m2("area", typed)
    except forms.FormError as err:
        assert_field(err, "area")
        return
    assert area is None or (
        Decimal(0) <= area < Decimal(1_000_000) and area == area.quantize(Decimal("0.01"))
    )


@settings(max_examples=300, deadline=None)
@given(typed=ANY_TEXT | NUMBER_LIKE)
def test_a_whole_number_is_in_its_range_or_a_message(typed: str) -> None:
    with contextlib.suppress(forms.FormError):
        assert 1 <= forms.whole("billing_day", typed, 1, 28) <= 28


@settings(max_examples=300, deadline=None)
@given(typed=ANY_TEXT | st.from_regex(r"[0-9]{1,3}:[0-9]{1,3}(:[0-9]{2})?", fullmatch=True))
def test_a_night_window_time_is_a_whole_minute_or_a_message(typed: str) -> None:
    try:
        moment = forms.wall_time("window_start", typed)
    except forms.FormError as err:
        assert_field(err, "window_start")
        return
    assert (moment.second, moment.microsecond) == (0, 0)
    assert moment.isoformat("minutes") == typed


@settings(max_examples=300, deadline=None)
@given(kwh=ANY_TEXT | NUMBER_LIKE, rate=ANY_TEXT | NUMBER_LIKE)
def test_a_quota_is_exact_wh_or_a_message(kwh: str, rate: str) -> None:
    try:
        quota = forms.quota("quota_kwh", kwh, "overage_rate", rate)
    except forms.FormError as err:
        assert_field(err, "quota_kwh", "overage_rate")
        return
    if quota is not None:
        assert Decimal(quota.included_wh) == Decimal(kwh) * 1000


@settings(max_examples=300, deadline=None)
@given(
    energy=st.sampled_from(["flat", "tiered", "tou", "", "x"]),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "flat_rate",
                "tier_up_to_kwh.0",
                "tier_rate.0",
                "tier_rate.1",
                "band_name.0",
                "band_rate.0",
                "default_band",
                "window_from.0",
                "window_to.0",
                "window_band.0",
                "holiday_country",
                "holiday_treat_as",
                "standing_charge",
                "vat_percent",
            ]
        ),
        ANY_TEXT | NUMBER_LIKE,
    ),
    days=st.lists(ANY_TEXT | st.sampled_from(["mon", "sun"]), max_size=3),
)
def test_any_tariff_fields_make_a_tariff_or_a_message_on_a_field(
    energy: str, fields: dict[str, str], days: list[str]
) -> None:
    values = fields | {"energy": energy}
    try:
        document = tariff_form.document(
            lambda name: values.get(name, ""), lambda _name: days, "EUR", "Europe/Berlin"
        )
        tariff = parse_tariff(document)
    except tariff_form.FieldError as err:
        assert_field(err, "energy", "vat_percent", *(f"band_name.{n}" for n in range(4)))
        return
    except TariffError as err:
        assert_path(err)
        return
    # Accepted: it reads back into the same fields' values, as the editor shows it.
    assert tariff_form.fields_of(tariff)["energy"] == energy


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reason=ANY_TEXT, confirmed=ANY_TEXT)
@example(reason="\ud800", confirmed="90000")  # a lone surrogate: invalid UTF-8 on the wire
async def test_garbage_reasons_and_confirmations_write_nothing_or_exactly_one_thing(
    site: tuple[Api, Browser], ledger: LedgerService, reason: str, confirmed: str
) -> None:
    api, browser = site
    reason, confirmed = reason.replace("\x00", ""), confirmed.replace("\x00", "")
    before = (await api.call("GET", "/api/audit"))["audit"]
    reply = await browser.post(
        LANDLORD,
        "/tenants/t1/topup",
        {"amount": "900.00", "reason": reason, "confirmed": confirmed},
    )
    after = (await api.call("GET", "/api/audit"))["audit"]
    if confirmed == "90000" and reason.strip() and len(reason.strip()) <= forms.MAX_TEXT:
        assert reply.status == 303
        assert len(after) == len(before) + 1
    else:
        assert reply.status in (200, 400)
        assert after == before
    reverse = await browser.post(LANDLORD, "/tenants/t1/entries/1/reverse", {"reason": reason})
    assert reverse.status in (303, 400)
