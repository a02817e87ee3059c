"""Move-in offers only free rooms, by name; HA users are linked by the name they were seen with."""

import re

from tests.ledger.conftest import Api

from .conftest import LANDLORD, Browser, User

DORA = User("u-dora-0123456789abcdef0123456789", "dora", "Dora Diaz")


async def _meters(api: Api) -> None:
    await api.call("POST", "/api/tenants", {"id": "t3", "name": "Dora", "plan": "main"}, expect=201)
    for point_id, name, use in (
        ("mqtt:in:1", "Incomer", {"kind": "incomer"}),
        ("mqtt:hall:1", "Hall light", {"kind": "common", "allocation": "equal", "tariff": "std"}),
        ("mqtt:r3:1", "Meter 3", {}),
        ("mqtt:r4:1", "Meter 4", {}),
    ):
        await api.call("POST", "/api/points", {"id": point_id, "name": name, **use}, expect=201)
    await api.call("POST", "/api/spaces", {"id": "r3", "name": "Room 3"}, expect=201)


async def test_move_in_offers_free_room_meters_only_by_name(site: tuple[Api, Browser]) -> None:
    api, browser = site
    await _meters(api)
    await browser.post(LANDLORD, "/setup/rooms", {"name": "Room 4", "points": "mqtt:r4:1"})
    page = await (await browser.get(LANDLORD, "/tenants/t3/move")).text()
    offered = re.findall(r'name="points" value="([^"]+)"', page)
    # t1 and t2 hold dev:1 and dev:2; the incomer and the hall light are never offered.
    assert offered == ["mqtt:r3:1", "mqtt:r4:1"]
    assert "Room 4 · Meter 4" in page
    for point_id in ("mqtt:in:1", "mqtt:hall:1", "mqtt:dev:1"):
        reply = await browser.post(
            LANDLORD,
            "/tenants/t3/move-in",
            {"points": point_id, "at": "2026-11-10T12:00", "reason": "lease"},
        )
        assert reply.status == 400
        assert "Choose a free room meter from the list." in await reply.text()
    assert (await api.call("GET", "/api/tenants/t3"))["points"] == []


async def test_a_waiting_ha_user_is_linked_by_name(site: tuple[Api, Browser]) -> None:
    api, browser = site
    await _meters(api)
    assert (await browser.get(DORA, "/")).status == 403  # seen once, not linked yet
    page = await (await browser.get(LANDLORD, "/tenants/t3")).text()
    assert '<option value="u-dora-0123456789abcdef0123456789">Dora Diaz (dora)</option>' in page
    reply = await browser.post(LANDLORD, "/tenants/t3/users", {"user_id": "dora"})
    assert reply.status == 303, await reply.text()
    assert (await browser.get(DORA, "/")).status == 200
    page = await (await browser.get(LANDLORD, "/tenants/t3")).text()
    assert "Dora Diaz" in page
