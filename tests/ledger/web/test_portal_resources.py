"""The tenant's page shows each resource they have: water beside electricity, in m³.

t1 (Alice) and t2 (Bob) each hold an electricity point and a cold-water meter from 1 November;
the plan bills water at 2.00 EUR/m³ beyond 2 m³ a period (``add_water``). The clock is
2026-11-10 13:00 Berlin; water registers every 6 hours up to 12:00, so t1 has used 228 h x
12 L = 2.736 m³ (0.736 m³ beyond the allowance: 1.47 EUR) and t2 228 h x 5 L = 1.140 m³.
"""

import asyncio
import http.client
import re
from urllib.parse import quote, quote_from_bytes

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from tenant_ledger.billing.resources import RESOURCES
from tenant_ledger.service import LedgerService
from tenant_ledger.web.portal import SESSION_COOKIE
from tests.ledger.conftest import Api, FakeClock

from .conftest import ALICE, BOB, LANDLORD, NOV_1, Browser, add_water
from .test_portal import open_portal, signed_in

_ANY_TEXT = st.text(max_size=200) | st.text(st.characters(codec="utf-8"), max_size=3000)


@pytest.fixture
async def water_site(site: tuple[Api, Browser], ledger: LedgerService) -> tuple[Api, Browser]:
    api, _browser = site
    await add_water(api, ledger.clock)  # type: ignore[arg-type]
    return site


def _stat(html: str, name: str) -> str:
    """The text of the element marked ``data-testid=name`` (one line, no tags)."""
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', html, re.S)
    assert found is not None, name
    return " ".join(found.group(1).split())


async def test_the_tenant_page_shows_water_usage_cost_and_allowance_beside_electricity(
    water_site: tuple[Api, Browser],
) -> None:
    _api, browser = water_site
    alice = await (await browser.get(ALICE, "/")).text()
    assert _stat(alice, "usage-electricity") == "48.000 kWh"  # 48 h x 1 kWh
    assert _stat(alice, "cost-electricity") == "14.40 EUR"
    assert _stat(alice, "usage-water") == "2.736 m³"
    assert _stat(alice, "cost-water") == "1.47 EUR"  # 0.736 m³ x 2.00 = 1.472
    assert _stat(alice, "left-water") == "0.000 m³ of 2.000 m³ left"
    assert _stat(alice, "balance") == "-15.87 EUR"
    assert "usage-gas" not in alice
    assert "usage-heat" not in alice
    assert "1.140" not in alice  # Bob's water
    bob = await (await browser.get(BOB, "/")).text()
    assert _stat(bob, "usage-water") == "1.140 m³"
    assert _stat(bob, "cost-water") == "0.00 EUR"
    assert _stat(bob, "left-water") == "0.860 m³ of 2.000 m³ left"
    assert "2.736" not in bob
    # One chart per resource, each fetching its own SVG.
    assert 'data-chart="/tenants/t1/chart.svg?resource=electricity"' in alice
    assert 'data-chart="/tenants/t1/chart.svg?resource=water"' in alice
    assert "Water used, last 7 days: 1.872 m³" in alice


async def test_the_water_chart_counts_litres_per_day_and_the_electricity_chart_none(
    water_site: tuple[Api, Browser],
) -> None:
    """4-9 November 24 h x 12 L each, 10 November up to 12:00: 144 L. The electricity chart
    is the 48 kWh it was before the water meter came (no litres added as Wh)."""
    _api, browser = water_site
    water = await (await browser.get(ALICE, "/tenants/t1/chart.svg?resource=water")).text()
    assert water.count('class="chart-bar"') == 7
    assert "Mon 09 Nov: 0.288 m³" in water
    assert "Tue 10 Nov: 0.144 m³" in water
    assert 'aria-label="Water used, last 7 days: 1.872 m³"' in water
    assert ">m³</text>" in water
    day = await (await browser.get(ALICE, "/tenants/t1/chart.svg?resource=water&span=day")).text()
    # The 24 hours up to 14:00 hold registers from 9 November 14:00 to 12:00: 22 h x 12 L.
    assert "Water used, last 24 hours: 0.264 m³" in day
    for who in (ALICE, LANDLORD):
        power = await (await browser.get(who, "/tenants/t1/chart.svg?span=week")).text()
        assert "last 7 days: 48.000 kWh" in power
        assert "m³" not in power
    plain = await (await browser.get(ALICE, "/tenants/t1/chart.svg?resource=electricity")).text()
    assert plain == power
    gas = await (await browser.get(ALICE, "/tenants/t1/chart.svg?resource=gas")).text()
    assert "Gas used, last 7 days: 0.000 m³" in gas  # none held: an empty chart, not an error
    assert (await browser.get(BOB, "/tenants/t1/chart.svg?resource=water")).status == 404
    landlord = await (await browser.get(LANDLORD, "/tenants/t1")).text()
    assert "Electricity used, last 7 days: 48.000 kWh" in landlord


async def test_an_unknown_resource_in_the_chart_address_gets_a_clear_answer(
    water_site: tuple[Api, Browser],
) -> None:
    _api, browser = water_site
    reply = await browser.get(ALICE, "/tenants/t1/chart.svg?resource=steam")
    assert reply.status == 400
    text = await reply.text()
    assert "resource must be one of electricity, water, gas, heat" in text
    assert "2.736" not in text


async def test_any_resource_and_span_in_the_chart_address_draw_the_chart_or_say_why(
    water_site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock
) -> None:
    """Through the portal's door with Alice's session: hypothesis text or raw bytes in both
    query parameters. A known resource draws Alice's chart of it, anything else is a 400;
    never an error of the server, never Bob's figures."""
    async with open_portal(water_site, ledger, clock) as portal:
        door = portal.phone()
        await signed_in(portal, door, "t1")
        assert door.cookie is not None
        await asyncio.to_thread(_chart_attempts, portal.base, door.cookie)


def _encoded(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return quote_from_bytes(value, safe="")
    return quote(value, safe="")


def _get_raw(base: str, path: str, cookie: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _chart_attempts(base: str, cookie: str) -> None:
    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(
        resource=_ANY_TEXT | st.binary(max_size=500) | st.sampled_from(RESOURCES),
        span=_ANY_TEXT | st.binary(max_size=500) | st.sampled_from(["day", "week", "month"]),
    )
    def attempt(resource: str | bytes, span: str | bytes) -> None:
        path = f"/tenants/t1/chart.svg?resource={_encoded(resource)}&span={_encoded(span)}"
        status, body = _get_raw(base, path, cookie)
        assert status in (200, 400), (path[:120], status)
        if isinstance(resource, str):
            known = resource.strip() in {"", *RESOURCES}
            assert (status == 200) is known, (path[:120], status)
        assert "1.140" not in body  # Bob's water this period
        if status == 200:
            assert body.startswith("<svg")
        else:
            assert "resource must be one of electricity, water, gas, heat" in body

    attempt()


async def test_the_readings_page_shows_each_meter_in_its_own_unit(
    water_site: tuple[Api, Browser],
) -> None:
    """10 November (Berlin): the water meter at 12:00 read 228 h x 12 L, 72 L after 06:00;
    the electricity meter at 13:00 read 10 kWh + 48 h x 1 kWh, 1 kWh after 12:00."""
    _api, browser = water_site
    page = await browser.get(ALICE, "/tenants/t1/readings?from=2026-11-10&to=2026-11-10")
    rows = {
        " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in re.findall(r"<tr id=[^>]*>(.*?)</tr>", await page.text(), re.S)
    }
    assert "2026-11-10 12:00 cold:t1 2.736 m³ 0.072 m³" in rows
    assert "2026-11-10 13:00 mqtt:dev:1 58.000 kWh 1.000 kWh" in rows
    assert not any("cold:t2" in row or "mqtt:dev:2" in row for row in rows)
    assert not any("cold:t1" in row and "kWh" in row for row in rows)


async def test_a_heat_meter_the_plan_does_not_bill_is_shown_in_kwh_and_not_priced(
    water_site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    """t1 also holds a heat meter from 1 November, 500 Wh an hour, which the plan does not
    bill: its chart in kWh, never added to the electricity or priced."""
    api, browser = water_site
    await api.call(
        "POST", "/api/points", {"id": "heat:t1", "name": "Heat", "resource": "heat"}, expect=201
    )
    await api.call(
        "POST",
        "/api/tenants/t1/move-in",
        {"points": ["heat:t1"], "at": "2026-11-01T00:00:00+01:00"},
        expect=201,
    )
    readings = [
        {"point": "heat:t1", "ts": ts, "energy_wh": (ts - NOV_1) // 3600 * 500}
        for ts in range(NOV_1, ledger.clock() // 1_000_000 + 1, 6 * 3600)
    ]
    await api.call("POST", "/api/readings", {"v": 2, "readings": readings}, expect=200)
    alice = await (await browser.get(ALICE, "/")).text()
    # The tenant state counts billed usage only: the card says so, the chart shows the use.
    assert "usage-heat" not in alice
    assert "cost-heat" not in alice
    assert "Not billed by your plan." in alice
    assert _stat(alice, "usage-electricity") == "48.000 kWh"
    assert _stat(alice, "balance") == "-15.87 EUR"  # as before: heat is not billed
    assert 'class="card stat resource-heat"' in alice
    assert 'data-chart="/tenants/t1/chart.svg?resource=heat"' in alice
    heat = await (await browser.get(ALICE, "/tenants/t1/chart.svg?resource=heat")).text()
    # 4-9 November 24 h x 500 Wh each, 10 November up to 12:00: 6 kWh.
    assert 'aria-label="Heat used, last 7 days: 78.000 kWh"' in heat
    assert "Mon 09 Nov: 12.000 kWh" in heat
    power = await (await browser.get(ALICE, "/tenants/t1/chart.svg")).text()
    assert "Electricity used, last 7 days: 48.000 kWh" in power


async def test_the_tariff_page_shows_each_billed_resource_in_its_unit(
    water_site: tuple[Api, Browser],
) -> None:
    _api, browser = water_site
    page = await browser.get(ALICE, "/tenants/t1/tariff")
    text = await page.text()
    assert page.status == 200, text
    electricity, water = text.split('id="resource-water"')
    assert 'id="band-energy"' in electricity
    assert "0.30 / kWh" in electricity
    assert 'id="band-water-energy"' in water
    assert "2.00 / m³" in water
    assert "/ kWh" not in water
    # The statement's water line links to the water band, not to electricity's.
    statement = await (await browser.get(ALICE, "/tenants/t1/statements/2026-11-01")).text()
    assert 'href="/tenants/t1/tariff#band-water-energy"' in statement
    assert 'href="/tenants/t1/tariff#band-energy"' in statement
