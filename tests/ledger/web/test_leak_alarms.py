"""The console lists open leak alarms on the Reading issues page; the landlord acknowledges one."""

from tenant_ledger.service import LedgerService
from tests.ledger.conftest import Api
from tests.ledger.test_leaks import DRIPPING, LEAKY, WATCH, night_of_readings

from .conftest import ALICE, LANDLORD, Browser

WATER = "ha:water_flat1"


async def test_the_landlord_sees_a_leak_alarm_and_acknowledges_it(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    water = {"id": LEAKY, "name": "Flat 1 water", "resource": "water"}
    await api.call("POST", "/api/points", water, expect=201)
    await api.call("PUT", f"/api/points/{LEAKY}/leak-watch", WATCH, expect=200)
    await api.call("POST", "/api/readings", night_of_readings(LEAKY, DRIPPING), expect=200)
    (alarm,) = (await api.call("GET", "/api/leak-alarms"))["alarms"]

    page = await (await browser.get(LANDLORD, "/readings/issues")).text()
    assert f'data-leak="{alarm["id"]}"' in page
    assert "<td>2026-11-09 23:00:00 to 2026-11-10 05:00:00</td>" in page
    path = f"/readings/issues/leaks/{alarm['id']}/acknowledge"
    assert (await browser.post(ALICE, path, {"reason": "mine"})).status == 404
    forged = await browser.post(LANDLORD, path, {"reason": "x"}, token="0" * 64)
    assert forged.status == 403
    missing = await browser.post(LANDLORD, "/readings/issues/leaks/999/acknowledge", {})
    assert missing.status == 404

    done = await browser.post(LANDLORD, path, {"reason": "plumber fixed the cistern"})
    assert (done.status, done.headers["Location"]) == (303, "/readings/issues?done=leak")
    seen = (await api.call("GET", "/api/leak-alarms"))["alarms"][0]
    assert (seen["acknowledged"], seen["acknowledged_by"]) == (True, LANDLORD.name)
    page = await (await browser.get(LANDLORD, "/readings/issues?done=leak")).text()
    assert "Leak alarm acknowledged." in page
    assert "No open leak alarms." in page
    audit = (await api.call("GET", "/api/audit"))["audit"]
    (row,) = [row for row in audit if row["action"] == "acknowledge_leak_alarm"]
    assert row["reason"] == "plumber fixed the cistern"
    assert ledger.read_only is False


async def test_the_landlord_watches_a_meter_for_leaks_from_the_points_page(
    site: tuple[Api, Browser],
) -> None:
    api, browser = site
    water = {"id": WATER, "name": "Flat 1 water", "resource": "water"}
    await api.call("POST", "/api/points", water, expect=201)
    form = {"point": WATER, "window_start": "23:00", "window_end": "05:00"}
    for bad, message in (
        (form | {"minimum_per_hour": "0"}, "Enter a whole number from 1 to"),
        (form | {"minimum_per_hour": "8", "window_end": "23:00"}, "must end at another time"),
        (form | {"minimum_per_hour": "8", "window_start": "25:00"}, "Enter a time like 23:00."),
        (form | {"minimum_per_hour": "8", "point": "nowhere"}, "Choose a meter from the list."),
    ):
        refused = await browser.post(LANDLORD, "/points/leak-watch", bad)
        assert refused.status == 400
        assert message in await refused.text()
    await api.call("GET", f"/api/points/{WATER}/leak-watch", expect=404)
    assert (await browser.post(ALICE, "/points/leak-watch", form)).status == 404

    done = await browser.post(
        LANDLORD, "/points/leak-watch", form | {"minimum_per_hour": "8", "reason": "flat 1"}
    )
    assert (done.status, done.headers["Location"]) == (303, "/points?done=leak_watch")
    watch = await api.call("GET", f"/api/points/{WATER}/leak-watch", expect=200)
    assert watch == form | {"minimum_per_hour": 8, "enabled": True}
    page = await (await browser.get(LANDLORD, "/points?done=leak_watch")).text()
    assert "Leak watch saved." in page
    assert "23:00 to 05:00, at least 8 L per hour" in page  # in the water meter's base unit
    # Only water and gas meters are offered for a watch.
    assert f'<option value="{WATER}"' in page
    assert '<option value="mqtt:dev:1"' not in page

    removed = await browser.post(LANDLORD, "/points/leak-watch/remove", {"point": WATER})
    assert (removed.status, removed.headers["Location"]) == (303, "/points?done=leak_unwatch")
    await api.call("GET", f"/api/points/{WATER}/leak-watch", expect=404)
    again = await browser.post(LANDLORD, "/points/leak-watch/remove", {"point": WATER})
    assert again.status == 404
    # A meter of electricity cannot leak: the watch is refused, saying why.
    power = form | {"point": "mqtt:dev:1", "minimum_per_hour": "8"}
    refused = await browser.post(LANDLORD, "/points/leak-watch", power)
    assert refused.status == 409
    assert "a leak watch is for water and gas meters; mqtt:dev:1 measures electricity" in (
        await refused.text()
    )
    await api.call("GET", "/api/points/mqtt:dev:1/leak-watch", expect=404)
