"""The building page: incomer against billed energy, losses, vacant rooms, totals, CSV."""

import csv
from datetime import UTC, datetime
import io

from tests.ledger.conftest import Api, FakeClock

from .conftest import ALICE, LANDLORD, Browser


async def _incomer_and_vacant_room(api: Api, clock: FakeClock) -> None:
    """An incomer drawing 1400 Wh/h while t1 and t2 use 1250 (site), and an empty room."""
    await api.call(
        "POST", "/api/points", {"id": "mqtt:in:1", "name": "Incomer", "kind": "incomer"}, expect=201
    )
    await api.call("POST", "/api/points", {"id": "mqtt:r3:1", "name": "Room 3"}, expect=201)
    start = clock.epoch - 48 * 3600
    readings = [
        {"point": "mqtt:in:1", "ts": start + hour * 3600, "energy_wh": 1400 * hour}
        for hour in range(49)
    ]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)
    clock.now_us = int(datetime(2026, 12, 2, 12, tzinfo=UTC).timestamp()) * 1_000_000


async def test_the_building_month_adds_up(site: tuple[Api, Browser], clock: FakeClock) -> None:
    api, browser = site
    await _incomer_and_vacant_room(api, clock)
    reply = await browser.get(LANDLORD, "/building")
    text = await reply.text()
    assert reply.status == 200, text
    assert "The building in November 2026" in text
    assert 'data-testid="incomer-kwh">67.200 kWh' in text
    assert 'data-testid="billed-kwh">60.000 kWh' in text
    assert 'data-testid="losses-kwh">7.200 kWh (10.7 %)' in text
    assert 'data-testid="meters-total">60.000' in text
    assert 'data-testid="tenants-billed-total">60.000' in text
    vacant = text.split('id="vacant"')[1].split("</section>")[0]
    assert "Room 3" in vacant
    assert "Room t1" not in vacant
    # The API's loss report says the same for the same month.
    report = await api.call(
        "GET", "/api/reports/losses?from=2026-11-01T00:00:00%2B01:00&to=2026-12-01T00:00:00%2B01:00"
    )
    assert (report["incomer_kwh"], report["losses_kwh"]) == ("67.200", "7.200")

    october = await (await browser.get(LANDLORD, "/building?month=2026-10")).text()
    assert 'data-testid="incomer-kwh">0.000 kWh' in october
    nonsense = await (await browser.get(LANDLORD, "/building?month=%ff<script>")).text()
    assert "November 2026" in nonsense


async def test_the_month_downloads_as_csv(site: tuple[Api, Browser], clock: FakeClock) -> None:
    api, browser = site
    await _incomer_and_vacant_room(api, clock)
    reply = await browser.get(LANDLORD, "/building.csv?month=2026-11")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/csv")
    assert 'filename="building-2026-11.csv"' in reply.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await reply.text())))
    assert rows[0] == ["section", "name", "id", "kind", "tenant", "kwh", "common_share_EUR"]
    assert ["meter", "Incomer", "mqtt:in:1", "incomer", "", "67.200", ""] in rows
    assert ["meter", "Room 3", "mqtt:r3:1", "tenant", "vacant", "0.000", ""] in rows
    assert ["tenant", "Room t1", "t1", "billed", "", "48.000", "0.00"] in rows
    assert ["total", "losses", "", "", "", "7.200", ""] in rows
    assert rows[-1] == ["total", "billed to tenants", "", "", "", "60.000", "0.00"]
    # Tenants never get the building.
    assert (await browser.get(ALICE, "/building.csv")).status == 404
