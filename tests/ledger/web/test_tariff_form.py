"""The tariff editor's fields: bands, hours, prices, holidays, VAT; old-vs-new preview."""

from collections.abc import Mapping
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.ledger.conftest import Api, FakeClock

from .conftest import LANDLORD, Browser

TOU = {
    "energy": "tou",
    "band_name.0": "peak",
    "band_rate.0": "0.40",
    "band_name.1": "offpeak",
    "band_rate.1": "0.20",
    "default_band": "offpeak",
    "window_from.0": "07:00",
    "window_to.0": "23:00",
    "window_band.0": "peak",
    "holiday_country": "DE",
    "holiday_subdivision": "BY",
    "holiday_treat_as": "sun",
    "standing_charge": "0.10",
    "vat_percent": "19",
}


async def _post(browser: Browser, data: Mapping[str, object]) -> tuple[int, str]:
    token = await browser.token(LANDLORD, "/tariffs")
    form = [("csrf_token", token)]
    for name, value in data.items():
        items = [value] if isinstance(value, str) else value
        assert isinstance(items, list)
        form += [(name, str(item)) for item in items]
    reply = await browser.client.post(
        "/tariffs", data=form, headers=LANDLORD.headers(), allow_redirects=False
    )
    return reply.status, await reply.text()


async def test_a_time_of_use_tariff_from_fields_is_saved_as_the_engine_reads_it(
    site: tuple[Api, Browser],
) -> None:
    api, browser = site
    data = TOU | {
        "window_days.0": ["mon", "tue", "wed", "thu", "fri"],
        "tariff_id": "tou",
        "name": "Day and night",
        "effective_from": "2027-01-01T00:00",
        "reason": "cheaper nights",
        "do": "save",
    }
    status, text = await _post(browser, data)
    assert status == 303, text
    (version,) = [
        v for v in (await api.call("GET", "/api/tariffs"))["versions"] if v["tariff_id"] == "tou"
    ]
    assert version["tariff"] == {
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "energy": {
            "type": "tou",
            "bands": {"peak": "0.40", "offpeak": "0.20"},
            "schedule": [
                {
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "from": "07:00",
                    "to": "23:00",
                    "band": "peak",
                }
            ],
            "default_band": "offpeak",
            "holidays": {"country": "DE", "subdivision": "BY", "treat_as": "sun"},
        },
        "standing_charge_per_day": "0.10",
        "tax_rate": "0.19",
    }
    # Starting the next version from it fills the same fields back in.
    page = await (await browser.get(LANDLORD, "/tariffs?edit=tou")).text()
    assert 'name="band_name.0" value="offpeak"' in page
    assert 'name="band_rate.0" value="0.20"' in page
    assert 'name="window_days.0" value="fri" checked' in page
    assert 'name="vat_percent" value="19"' in page


async def test_a_field_error_points_at_the_field_and_nothing_is_saved(
    site: tuple[Api, Browser],
) -> None:
    api, browser = site
    before = await api.call("GET", "/api/tariffs")
    cases: list[tuple[Mapping[str, object], str, str]] = [
        (TOU | {"window_days.0": ["mon"], "window_to.0": "06:00"}, "window_to.0", "must be after"),
        (TOU | {"window_days.0": ["mon"], "window_band.0": "night"}, "window_band.0", ""),
        (TOU | {"vat_percent": "119"}, "vat_percent", "VAT in percent"),
        (
            {
                "energy": "tiered",
                "tier_up_to_kwh.0": "100",
                "tier_rate.0": "0.2",
                "tier_up_to_kwh.1": "50",
                "tier_rate.1": "0.3",
                "tier_rate.2": "0.4",
            },
            "tier_up_to_kwh.1",
            "strictly increasing",
        ),
        ({"energy": "flat", "flat_rate": "-1"}, "flat_rate", "must not be negative"),
    ]
    for data, field, message in cases:
        status, text = await _post(
            browser,
            {
                **data,
                "do": "save",
                "tariff_id": "x",
                "effective_from": "2027-01-01T00:00",
                "reason": "r",
            },
        )
        assert status == 400, (field, text)
        assert f'name="{field}"' in text
        assert message in text
        assert 'aria-invalid="true"' in text
    assert await api.call("GET", "/api/tariffs") == before


async def test_the_preview_rates_a_real_month_with_the_current_and_the_draft_tariff(
    site: tuple[Api, Browser], clock: FakeClock
) -> None:
    _api, browser = site
    # In December, the last whole month is November, in which t1 used 48 kWh (the site's
    # readings): 14.40 at std's 0.30 now, 19.20 at the drafted 0.40.
    clock.now_us = int(datetime(2026, 12, 2, 12, tzinfo=UTC).timestamp()) * 1_000_000
    status, text = await _post(
        browser,
        {
            "energy": "flat",
            "flat_rate": "0.40",
            "standing_charge": "0",
            "vat_percent": "0",
            "tariff_id": "std",
            "tenant": "t1",
            "do": "preview",
        },
    )
    assert status == 200, text
    assert 'data-testid="old-preview-total">14.40<' in text
    assert 'data-testid="preview-total">19.20<' in text
    assert 'data-testid="preview-difference">4.80 EUR<' in text
    assert "November 2026" in text


_TEXT = st.text(st.characters(codec="utf-8"), max_size=200) | st.sampled_from(
    ["", "-0", "1e3", "24:00", "25:61", "0.123456789012345", "9" * 30, "x" * 3000, "NaN"]
)
_FIELDS = [name for name in TOU if name != "energy"] + [
    "flat_rate",
    "tier_rate.0",
    "tier_up_to_kwh.0",
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    energy=st.sampled_from(["flat", "tiered", "tou", "json", "other", ""]),
    values=st.fixed_dictionaries({}, optional=dict.fromkeys(_FIELDS, _TEXT)),
)
async def test_garbage_in_any_tariff_field_is_answered_and_nothing_saved(
    site: tuple[Api, Browser], energy: str, values: dict[str, str]
) -> None:
    api, browser = site
    before = await api.call("GET", "/api/tariffs")
    data = {name: value for name, value in values.items() if "\x00" not in value}
    status, text = await _post(
        browser,
        data
        | {
            "energy": energy,
            "do": "save",
            "tariff_id": "g",
            "effective_from": "2027-01-01T00:00",
            "reason": "r",
        },
    )
    if status == 303:
        return  # a valid tariff after all: saved whole, as the engine reads it
    assert status == 400, text
    assert 'class="error"' in text
    assert await api.call("GET", "/api/tariffs") == before
