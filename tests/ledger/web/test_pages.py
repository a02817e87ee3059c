"""What landlords and tenants see and do: forms, statements, tariffs, moves, audit."""

import asyncio
from datetime import UTC, datetime
import functools

from aiohttp.test_utils import TestClient, TestServer
import pytest
import sqlalchemy as sa

from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.schema import ha_user_links
from tenant_ledger.service import LedgerService
from tests.ledger.conftest import Api, FakeClock

from .conftest import ALICE, BOB, CAROL, LANDLORD, LOCAL, Browser, build_app, post_readings


async def test_landlord_tops_up_and_the_tenant_sees_the_new_balance(
    site: tuple[Api, Browser],
) -> None:
    api, browser = site
    before = (await api.call("GET", "/api/tenants/t1"))["balance"]
    reply = await browser.post(
        LANDLORD, "/tenants/t1/topup", {"amount": "20.00", "reason": "cash at desk"}
    )
    assert reply.status == 303
    assert reply.headers["Location"] == "/tenants/t1?done=topup"
    assert before == "-14.40"
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "5.60"
    portal = await (await browser.get(ALICE, "/")).text()
    assert "5.60 EUR" in portal
    assert "cash at desk" in portal
    audit = (await api.call("GET", "/api/audit"))["audit"]
    assert (audit[0]["action"], audit[0]["actor"]) == ("top_up", "ana")


@pytest.mark.parametrize(
    ("form", "data", "message"),
    [
        ("topup", {"amount": "10.005", "reason": "x"}, "more decimals than EUR allows"),
        ("topup", {"amount": "ten", "reason": "x"}, "Enter an amount like 10.00"),
        ("topup", {"amount": "1e3", "reason": "x"}, "Enter an amount like 10.00"),
        ("topup", {"amount": "-5.00", "reason": "x"}, "A top-up must be positive"),
        ("topup", {"amount": "5.00", "reason": ""}, "This is required"),
        ("adjustment", {"amount": "0.00", "reason": "x"}, "must not be zero"),
        ("exemption", {"exempt": "on", "until": "soon", "reason": "x"}, "Enter a date and time"),
        ("cutoff", {"reason": ""}, "This is required"),
    ],
)
async def test_bad_input_comes_back_with_a_clear_message_and_what_was_typed(
    site: tuple[Api, Browser], form: str, data: dict[str, str], message: str
) -> None:
    api, browser = site
    before = (await api.call("GET", "/api/tenants/t1"))["balance"]
    path = {"cutoff": "cutoff-approval"}.get(form, form)
    reply = await browser.post(LANDLORD, f"/tenants/t1/{path}", data)
    text = await reply.text()
    assert reply.status == 400, text
    assert message in text
    if data.get("amount"):
        assert f'value="{data["amount"]}"' in text
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == before


async def test_adjustment_exemption_and_cutoff_approval(site: tuple[Api, Browser]) -> None:
    api, browser = site
    reply = await browser.post(
        LANDLORD, "/tenants/t2/adjustment", {"amount": "-1.40", "reason": "key fee"}
    )
    assert reply.status == 303
    assert (await api.call("GET", "/api/tenants/t2"))["balance"] == "-5.00"
    approve = await browser.post(LANDLORD, "/tenants/t2/cutoff-approval", {"reason": "unpaid"})
    assert approve.status == 303
    assert (await api.call("GET", "/api/tenants/t2"))["cutoff_approved"] is True
    exempt = await browser.post(
        LANDLORD, "/tenants/t1/exemption", {"exempt": "on", "reason": "medical"}
    )
    assert exempt.status == 303
    assert (await api.call("GET", "/api/tenants/t1"))["status"] == "exempt"
    ended = await browser.post(LANDLORD, "/tenants/t1/exemption", {"reason": "recovered"})
    assert ended.status == 303
    assert (await api.call("GET", "/api/tenants/t1"))["status"] != "exempt"


async def test_a_statement_links_every_line_to_its_band_and_readings(
    site: tuple[Api, Browser],
) -> None:
    _api, browser = site
    page = await browser.get(ALICE, "/tenants/t1/statements/2026-11-01")
    text = await page.text()
    assert page.status == 200, text
    assert 'href="/tenants/t1/tariff#band-energy"' in text
    assert "48.000 kWh" in text
    assert "/tenants/t1/readings?from=2026-11-01&amp;to=2026-11-30" in text
    assert "#r-mqtt:dev:1-" in text
    tariff = await (await browser.get(ALICE, "/tenants/t1/tariff")).text()
    assert 'id="band-energy"' in tariff
    assert "0.30 / kWh" in tariff
    readings = await (await browser.get(ALICE, "/tenants/t1/readings")).text()
    assert "mqtt:dev:1" in readings
    assert "mqtt:dev:2" not in readings
    csv = await browser.get(ALICE, "/tenants/t1/statements/2026-11-01.csv")
    assert csv.headers["Content-Type"].startswith("text/csv")
    body = await csv.text()
    assert "charge,energy,48.000,kWh,0.30,14.40" in body
    assert (await browser.get(BOB, "/tenants/t1/statements/2026-11-01.csv")).status == 404
    assert (await browser.get(ALICE, "/tenants/t1/statements/2026-11-02")).status == 404


async def test_an_issued_statement_is_downloaded_as_stored_only_by_its_tenant(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock
) -> None:
    api, browser = site
    open_period = await (await browser.get(ALICE, "/tenants/t1/statements/2026-11-01")).text()
    assert "Preview of the open period" in open_period
    assert "Not issued yet: charges up to" in open_period
    assert "issued.pdf" not in open_period
    assert (await browser.get(ALICE, "/tenants/t1/statements/2026-11-01/issued.pdf")).status == 404

    clock.now_us = int(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp()) * 1_000_000
    await ledger.tick()
    (issued,) = (await api.call("GET", "/api/tenants/t1/statements"))["statements"]
    portal = await (await browser.get(ALICE, "/")).text()
    assert 'href="/tenants/t1/statements/2026-11-01/issued.pdf"' in portal
    assert "(not issued yet)" in portal  # December, the open period
    page = await (await browser.get(ALICE, "/tenants/t1/statements/2026-11-01")).text()
    assert "Statement 2026-00001" in page
    assert "Dec 1, 2026" in page  # issued
    assert "14.40" in page
    assert 'href="/tenants/t1/statements/2026-11-01/issued.csv"' in page

    pdf = await browser.get(ALICE, "/tenants/t1/statements/2026-11-01/issued.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert "statement-t1-2026-11-01-2026-00001.pdf" in pdf.headers["Content-Disposition"]
    body = await pdf.read()
    stored = await api.client.get(
        f"/api/statements/{issued['id']}?format=pdf", headers=api._headers(None)
    )
    assert body == await stored.read()  # the ledger's own rendering of the stored statement
    csv = await (await browser.get(ALICE, "/tenants/t1/statements/2026-11-01/issued.csv")).text()
    assert "14.40" in csv
    for who, path in ((BOB, "/tenants/t1"), (ALICE, "/tenants/t2")):
        reply = await browser.get(who, f"{path}/statements/2026-11-01/issued.pdf")
        assert reply.status == 404
    landlord = await browser.get(LANDLORD, "/tenants/t2/statements/2026-11-01/issued.csv")
    assert landlord.status == 200


async def test_links_live_in_the_ledger_schema_and_archiving_ends_them(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site

    def links(connection: sa.Connection, _catalog: Catalog) -> list[tuple[str, str]]:
        query = sa.select(ha_user_links.c.user_id, ha_user_links.c.tenant_id)
        return sorted((row.user_id, row.tenant_id) for row in connection.execute(query))

    assert await ledger.read(links) == [(ALICE.user_id, "t1"), (BOB.user_id, "t2")]
    actions = [(a["action"], a["actor"]) for a in (await api.call("GET", "/api/audit"))["audit"]]
    assert ("link_ha_user", LANDLORD.name) in actions

    move_out = {"at": "2026-11-10T12:00:00+00:00", "reason": "left"}
    await api.call("POST", "/api/tenants/t2/move-out", move_out, expect=200)
    await api.call("POST", "/api/tenants/t2/archive", {"reason": "left"}, expect=200)
    assert await ledger.read(links) == [(ALICE.user_id, "t1")]
    assert (await browser.get(BOB, "/")).status == 403
    overview = await (await browser.get(LANDLORD, "/")).text()
    assert "Room t1" in overview
    assert "Room t2" not in overview
    assert (await browser.get(LANDLORD, "/tenants/t2")).status == 404


async def test_the_chart_shows_the_tenants_own_usage(site: tuple[Api, Browser]) -> None:
    _api, browser = site
    for span, bars in (("day", 24), ("week", 7), ("month", 30)):
        reply = await browser.get(ALICE, f"/tenants/t1/chart.svg?span={span}")
        assert reply.headers["Content-Type"].startswith("image/svg+xml")
        svg = await reply.text()
        assert svg.count('class="chart-bar"') == bars
    week = await (await browser.get(ALICE, "/tenants/t1/chart.svg?span=week")).text()
    assert "Mon 09 Nov: 24.000 kWh" in week
    assert "last 7 days: 48.000 kWh" in week


async def test_tariff_editor_explains_errors_previews_and_saves(
    site: tuple[Api, Browser],
) -> None:
    api, browser = site
    bad = (
        '{"currency": "EUR", "timezone": "Europe/Berlin", "energy": {"type": "flat", "rate": "-1"}}'
    )
    reply = await browser.post(LANDLORD, "/tariffs", {"body": bad, "do": "preview"})
    assert reply.status == 400
    assert "energy.rate: must not be negative" in await reply.text()
    broken = await browser.post(LANDLORD, "/tariffs", {"body": '{"currency": ', "do": "preview"})
    assert "Not valid JSON at line 1" in await broken.text()
    good = (
        '{"currency": "EUR", "timezone": "Europe/Berlin", '
        '"energy": {"type": "flat", "rate": "0.40"}, "standing_charge_per_day": "0.10"}'
    )
    preview = await browser.post(LANDLORD, "/tariffs", {"body": good, "do": "preview"})
    text = await preview.text()
    assert preview.status == 200, text
    # October 2026: 300 kWh x 0.40 + 31 days x 0.10.
    assert '<td class="num" data-testid="preview-total">123.10</td>' in text
    tenant_preview = await browser.post(
        LANDLORD, "/tariffs", {"body": good, "do": "preview", "tenant": "t1"}
    )
    assert "Room t1" in await tenant_preview.text()
    saved = await browser.post(
        LANDLORD,
        "/tariffs",
        {
            "body": good,
            "do": "save",
            "tariff_id": "night",
            "name": "Night",
            "effective_from": "2027-01-01T00:00",
            "reason": "new year",
        },
    )
    assert saved.status == 303, await saved.text()
    versions = (await api.call("GET", "/api/tariffs"))["versions"]
    assert any(version["tariff_id"] == "night" for version in versions)


async def test_move_out_records_the_final_reading(
    site: tuple[Api, Browser], clock: FakeClock
) -> None:
    api, browser = site
    clock.advance(3600)  # 14:00 in Berlin, an hour after the last reading
    form = await (await browser.get(LANDLORD, "/tenants/t2/move")).text()
    assert 'name="reading.mqtt:dev:2"' in form
    reply = await browser.post(
        LANDLORD,
        "/tenants/t2/move-out",
        {"at": "2026-11-10T14:00", "reason": "lease ended", "reading.mqtt:dev:2": "22.500"},
    )
    assert reply.status == 303, await reply.text()
    state = await api.call("GET", "/api/tenants/t2")
    assert state["points"] == []
    stored = await api.call("GET", "/api/readings?point=mqtt:dev:2&limit=10000")
    assert stored["readings"][-1]["energy_wh"] == 22_500
    points = await (await browser.get(LANDLORD, "/points")).text()
    assert "free" in points
    moved_in = await browser.post(
        LANDLORD,
        "/tenants/t1/move-in",
        {"at": "2026-11-10T14:00", "reason": "second room", "points": "mqtt:dev:2"},
    )
    assert moved_in.status == 303, await moved_in.text()
    assert (await api.call("GET", "/api/tenants/t1"))["points"] == ["mqtt:dev:1", "mqtt:dev:2"]
    bad = await browser.post(LANDLORD, "/tenants/t2/move-in", {"at": "x", "reason": "r"})
    assert "Enter a date and time" in await bad.text()


async def test_audit_log_filters_by_actor_action_and_date(site: tuple[Api, Browser]) -> None:
    _api, browser = site
    await browser.post(LANDLORD, "/tenants/t1/topup", {"amount": "1.00", "reason": "coins"})
    page = await (await browser.get(LANDLORD, "/audit?actor=ana&action=top_up")).text()
    assert "coins" in page
    assert "link_ha_user" not in page.split("<tbody>")[1]
    links = await (await browser.get(LANDLORD, "/audit?action=link_ha_user")).text()
    assert "u-alice" in links
    assert "coins" not in links
    old = await (await browser.get(LANDLORD, "/audit?from=2020-01-01&to=2020-01-02")).text()
    assert "Nothing matches" in old


async def test_moving_a_link_in_the_console_republishes_both_tenants(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    _api, browser = site
    assert ledger.states["t1"]["ha_user_ids"] == [ALICE.user_id]
    reply = await browser.post(LANDLORD, "/tenants/t2/users", {"user_id": ALICE.user_id})
    assert reply.status == 303
    assert ledger.states["t1"]["ha_user_ids"] == []
    assert ledger.states["t2"]["ha_user_ids"] == sorted([ALICE.user_id, BOB.user_id])


async def test_the_landlord_sees_reading_issues_and_releases_a_quarantined_reading(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock
) -> None:
    api, browser = site
    now = clock.epoch
    # t1's register stands at 58,000 Wh (post_readings); 10^12 Wh a minute later is impossible,
    # and a second value for a stored second is a conflict.
    giant = {"point": "mqtt:dev:1", "ts": now + 60, "energy_wh": 10**12}
    clash = {"point": "mqtt:dev:2", "ts": now, "energy_wh": 1}
    await api.call("POST", "/api/readings", {"readings": [giant, clash]}, expect=200)
    (item,) = (await api.call("GET", "/api/readings/quarantine"))["quarantined"]

    overview = await (await browser.get(LANDLORD, "/")).text()
    assert 'href="/readings/issues"' in overview
    page = await (await browser.get(LANDLORD, "/readings/issues")).text()
    assert f'data-quarantine="{item["id"]}"' in page
    assert "above max power" in page
    assert "1000000000000" in page
    assert "<td><code>mqtt:dev:2</code></td><td>2026-11-10 13:00:00</td>" in page
    assert (await browser.get(ALICE, "/readings/issues")).status == 404

    path = f"/readings/issues/{item['id']}/release"
    missing = await browser.post(LANDLORD, path, {"reason": ""})
    assert missing.status == 400
    assert "This is required" in await missing.text()
    forged = await browser.post(LANDLORD, path, {"reason": "x"}, token="0" * 64)
    assert forged.status == 403
    assert (await browser.post(ALICE, path, {"reason": "mine"})).status == 404
    assert ledger.states["t1"]["period_energy_kwh"] == "48.000"

    done = await browser.post(LANDLORD, path, {"reason": "the meter really says so"})
    assert (done.status, done.headers["Location"]) == (303, "/readings/issues?done=release")
    released = (await api.call("GET", "/api/readings/quarantine"))["quarantined"][0]
    assert (released["released_by"], released["release_reason"]) == (
        LANDLORD.name,
        "the meter really says so",
    )
    expected_wh = 48_000 + 10**12 - 58_000
    assert ledger.states["t1"]["period_energy_kwh"] == f"{expected_wh // 1000}.000"
    page = await (await browser.get(LANDLORD, "/readings/issues?done=release")).text()
    assert "Reading released and billed." in page
    assert "released by ana: the meter really says so" in page
    again = await browser.post(LANDLORD, path, {"reason": "twice"})
    assert again.status == 400
    assert "was already released" in await again.text()


async def test_the_landlord_sees_unreadable_messages_from_the_broker(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    """A message that carried no reading is listed (once, counted), shown as inert text."""
    _api, browser = site
    acknowledged: list[bytes] = []
    nul_point = b'{"readings":[{"point":"mqtt:dev\\u0000:1","ts":1793836800,"energy_wh":1}]}'
    script = b"<script>alert(1)</script>\xff"
    for payload in (nul_point, script, script):
        ledger._from_mqtt(payload, functools.partial(acknowledged.append, payload))
    for _ in range(500):
        if len(acknowledged) == 3:
            break
        await asyncio.sleep(0.01)
    assert acknowledged == [nul_point, script, script]
    page = await (await browser.get(LANDLORD, "/readings/issues")).text()
    section = page[page.index('id="parked"') : page.index('id="conflicts"')]
    assert section.count("data-parked=") == 2
    assert "invalid point" in section
    assert "mqtt:dev\\u0000:1" in section
    assert "invalid json" in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\xff" in section
    assert "<script>" not in section
    assert '<td class="num">2</td>' in section  # the same message twice
    assert (await browser.get(ALICE, "/readings/issues")).status == 404


async def test_a_tenant_who_moved_in_mid_month_sees_only_their_own_readings(
    ledger: LedgerService, clock: FakeClock, socket_enabled: None
) -> None:
    """Carol takes over Alice's point: neither sees the other's registers of that point."""
    async with TestClient(TestServer(build_app(ledger, {LOCAL}))) as client:
        api, browser = Api(client), Browser(client)
        await api.building(tenants={"t1": "mqtt:dev:1", "t2": "mqtt:dev:2"})
        moved = "2026-11-09T13:00:00+01:00"  # 2026-11-09 12:00 UTC
        moved_s = int(datetime(2026, 11, 9, 12, tzinfo=UTC).timestamp())
        await api.call("POST", "/api/tenants/t1/move-out", {"at": moved, "reason": "left"})
        await api.call("POST", "/api/tenants", {"id": "t3", "name": "C", "plan": "main"})
        body = {"points": ["mqtt:dev:1"], "at": moved}
        await api.call("POST", "/api/tenants/t3/move-in", body, expect=201)
        await post_readings(api, clock)
        for user, tenant_id in ((ALICE, "t1"), (CAROL, "t3")):
            link = {"user_id": user.user_id}
            reply = await browser.post(LANDLORD, f"/tenants/{tenant_id}/users", link)
            assert reply.status == 303, await reply.text()

        alice = await (await browser.get(ALICE, "/tenants/t1/readings")).text()
        carol = await (await browser.get(CAROL, "/tenants/t3/readings")).text()
    before, after = f"r-mqtt:dev:1-{moved_s - 3600}", f"r-mqtt:dev:1-{moved_s + 3600}"
    assert (before in alice, after in alice) == (True, False)
    assert (before in carol, after in carol) == (False, True)
    boundary = f"r-mqtt:dev:1-{moved_s}"  # the register at the hand-over closes and opens
    assert boundary in alice
    assert boundary in carol


async def test_the_points_page_shows_each_point_in_its_own_unit(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    litres = {"v": 2, "readings": [{"point": "ha:w", "ts": 1_793_836_800, "volume_l": 120_000}]}
    assert (await api.call("POST", "/api/readings", litres))["stored"] == 1
    # Registered behind the running ledger's back (another process, a restore): the page reads
    # the point's own row, never the default a point unknown to the ledger's memory would get.
    with ledger.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO metering_points (id, name, created_at_us, resource, max_power_w) "
            "VALUES ('ha:w', 'Cold water', 0, 'water', 6000)"
        )
    page = await (await browser.get(LANDLORD, "/points")).text()
    row = next(line for line in page.split("<tr") if "ha:w" in line)
    assert '<td>water <small class="muted">m³</small></td>' in row
    assert "120.000 m³ at" in row
    assert "electricity" not in row
