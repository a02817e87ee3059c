"""Leak watches: a night of readings through the API, the alarm recorded once, acknowledged,
published retained over a real broker; the database refuses a second alarm for a night."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
import json
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.db.schema import leak_alarms
from tenant_ledger.mqtt import BrokerSettings
from tenant_ledger.service import LedgerService
from tenant_sim.mosquitto import MosquittoBroker
from tenant_sim.water_nights import WaterNight

from .conftest import Api, FakeClock
from .mqtt_probe import MqttProbe

LEAKY, DRY = "water:room1", "water:room2"
# The night of 9 November 2026 in Berlin (CET): 23:00-05:00 is 22:00-04:00 UTC.
EVENING = int(datetime(2026, 11, 9, 21, 30, tzinfo=UTC).timestamp())
QUARTER = 900
WATCH = {"window_start": "23:00", "window_end": "05:00", "minimum_per_hour": 8}
ALARM_TOPIC = f"tenant_metering/ledger/alarms/{LEAKY}"


def night_of_readings(point: str, litres_per_quarter: list[int]) -> dict[str, Any]:
    """A reading every quarter hour from 22:30 local, the register (litres) rising as given."""
    register, readings = 50_000, [{"point": point, "ts": EVENING, "volume_l": 50_000}]
    for step, litres in enumerate(litres_per_quarter, start=1):
        register += litres
        readings.append({"point": point, "ts": EVENING + step * QUARTER, "volume_l": register})
    return {"v": 2, "readings": readings}


DRIPPING = [3] * 30  # 12 L/h without a break, 22:30 to 06:00
WASHING_AT_NIGHT_ONCE = [3] * 14 + [0, 0, 0, 0] + [3] * 12  # one quiet hour at 02:00


async def _watched(api: Api, *points: str) -> None:
    for point in points:
        await api.call("POST", "/api/points", _water(point, point), expect=201)
        watch = await api.call("PUT", f"/api/points/{point}/leak-watch", WATCH, expect=200)
        assert watch == WATCH | {"point": point, "enabled": True}


def _water(point: str, name: str) -> dict[str, str]:
    return {"id": point, "name": name, "resource": "water"}


async def _unwatch(api: Api, point: str) -> None:
    path = f"/api/points/{point}/leak-watch"
    reply = await api.client.request("DELETE", path, json={}, headers=api._headers(None))
    assert reply.status == 204


async def test_a_dripping_tap_all_night_raises_one_alarm_the_landlord_acknowledges(
    api: Api,
) -> None:
    await _watched(api, LEAKY, DRY)
    await api.call("POST", "/api/readings", night_of_readings(LEAKY, DRIPPING), expect=200)
    await api.call(
        "POST", "/api/readings", night_of_readings(DRY, WASHING_AT_NIGHT_ONCE), expect=200
    )
    found = (await api.call("GET", "/api/leak-alarms", expect=200))["alarms"]
    assert [(a["point"], a["night"]) for a in found] == [(LEAKY, "2026-11-09")]
    alarm = found[0]
    assert alarm["lowest_per_hour"] == 12
    assert alarm["volume"] == 6 * 12
    assert alarm["minimum_per_hour"] == 8
    assert alarm["acknowledged"] is False

    # The same night again (a backlog replayed, the broker redelivering): still one alarm.
    await api.call("POST", "/api/readings", night_of_readings(LEAKY, DRIPPING), expect=200)
    assert len((await api.call("GET", "/api/leak-alarms", expect=200))["alarms"]) == 1

    seen = await api.call(
        "POST",
        f"/api/leak-alarms/{alarm['id']}/acknowledge",
        {"actor": "Maria", "reason": "plumber called"},
        expect=200,
    )
    assert seen["acknowledged"] is True
    assert seen["acknowledged_by"] == "Maria"
    again = await api.call("POST", f"/api/leak-alarms/{alarm['id']}/acknowledge", {}, expect=200)
    assert again == seen
    assert (await api.call("GET", "/api/leak-alarms?status=open", expect=200))["alarms"] == []
    audit = (await api.call("GET", "/api/audit", expect=200))["audit"]
    assert [row["action"] for row in audit].count("acknowledge_leak_alarm") == 1
    assert {"put_leak_watch", "acknowledge_leak_alarm"} <= {row["action"] for row in audit}


async def test_an_unwatched_point_or_a_disabled_watch_raises_nothing(api: Api) -> None:
    await api.call("POST", "/api/points", _water(LEAKY, "r1"), expect=201)
    await api.call("POST", "/api/readings", night_of_readings(LEAKY, DRIPPING), expect=200)
    await api.call("PUT", f"/api/points/{LEAKY}/leak-watch", WATCH | {"enabled": False}, expect=200)
    await api.call("POST", "/api/readings", night_of_readings(LEAKY, DRIPPING), expect=200)
    assert (await api.call("GET", "/api/leak-alarms", expect=200))["alarms"] == []


async def test_a_watch_is_set_read_and_removed_and_bad_ones_are_refused(api: Api) -> None:
    path = f"/api/points/{LEAKY}/leak-watch"
    missing = await api.call("PUT", path, WATCH, expect=404)
    assert missing["error"]["code"] == "not_found"
    await api.call("POST", "/api/points", _water(LEAKY, "r1"), expect=201)
    await api.call("GET", path, expect=404)
    for bad in (
        WATCH | {"window_end": "23:00"},
        WATCH | {"window_start": "24:00"},
        WATCH | {"minimum_per_hour": 0},
        WATCH | {"minimum_per_hour": 1.5},
        WATCH | {"enabled": "yes"},
    ):
        refused = await api.call("PUT", path, bad, expect=400)
        assert refused["error"]["code"] == "invalid"
    await api.call("PUT", path, WATCH, expect=200)
    changed = WATCH | {"window_start": "00:30", "window_end": "04:00"}
    await api.call("PUT", path, changed, expect=200)
    assert await api.call("GET", path, expect=200) == changed | {"point": LEAKY, "enabled": True}
    await _unwatch(api, LEAKY)
    await api.call("GET", path, expect=404)
    await api.call("DELETE", path, {}, expect=404)
    await api.call("POST", "/api/leak-alarms/7/acknowledge", {}, expect=404)


async def test_a_restarted_ledger_does_not_raise_the_night_again(
    make_config: Callable[..., LedgerConfig], clock: FakeClock, socket_enabled: None
) -> None:
    for _run in range(2):
        service = LedgerService(make_config(), clock=clock)
        await service.start()
        async with TestClient(TestServer(create_app(service, check_answers=True))) as client:
            api = Api(client)
            if _run == 0:
                await _watched(api, LEAKY)
            await api.call("POST", "/api/readings", night_of_readings(LEAKY, DRIPPING))
            alarms = (await api.call("GET", "/api/leak-alarms", expect=200))["alarms"]
        await service.stop()
        assert len(alarms) == 1
        clock.advance(3600)


async def test_the_database_refuses_a_second_alarm_for_the_night_and_a_flow_below_the_minimum(
    api: Api, ledger: LedgerService
) -> None:
    await _watched(api, LEAKY)
    await api.call("POST", "/api/readings", night_of_readings(LEAKY, DRIPPING), expect=200)
    row = {
        "point_id": LEAKY,
        "night": date(2026, 11, 9),
        "window_start_us": 1,
        "window_end_us": 2,
        "minimum_per_hour": 8,
        "lowest_per_hour": 9,
        "volume": 0,
        "detected_at_us": 5,
    }
    with pytest.raises(IntegrityError), ledger.engine.begin() as connection:
        connection.execute(leak_alarms.insert().values(row))
    with pytest.raises(IntegrityError), ledger.engine.begin() as connection:
        connection.execute(
            leak_alarms.insert().values(row | {"night": date(2026, 11, 8), "lowest_per_hour": 7})
        )
    with pytest.raises(IntegrityError), ledger.engine.begin() as connection:
        connection.execute(
            sa.update(leak_alarms).values(acknowledged_at_us=10**18, acknowledged_by=None)
        )


@pytest.fixture
async def mqtt_api(
    mosquitto: MosquittoBroker, make_config: Callable[..., LedgerConfig], clock: FakeClock
) -> AsyncIterator[Api]:
    service = LedgerService(
        make_config(BrokerSettings(host=mosquitto.host, port=mosquitto.port)), clock=clock
    )
    await service.start()
    async with TestClient(TestServer(create_app(service, check_answers=True))) as client:
        yield Api(client)
    await service.stop()


async def _leak_state(probe: MqttProbe, accept: Callable[[dict[str, Any] | None], bool]) -> Any:
    payload, _ = await asyncio.to_thread(
        probe.wait_for, ALARM_TOPIC, lambda raw: accept(json.loads(raw) if raw else None)
    )
    return json.loads(payload) if payload else None


async def test_the_leak_state_is_retained_per_point_on_the_broker(
    mosquitto: MosquittoBroker, mqtt_api: Api
) -> None:
    with MqttProbe(mosquitto) as probe:
        await _watched(mqtt_api, LEAKY)
        quiet = await _leak_state(probe, lambda s: s is not None)
        assert quiet == {
            "point": LEAKY,
            "active": False,
            "watch": WATCH | {"point": LEAKY, "enabled": True},
            "alarm": None,
        }
        await mqtt_api.call("POST", "/api/readings", night_of_readings(LEAKY, DRIPPING))
        raised = await _leak_state(probe, lambda s: s is not None and s["active"])
        assert raised["alarm"]["night"] == "2026-11-09"
        assert raised["alarm"]["lowest_per_hour"] == 12
    with MqttProbe(mosquitto) as late:  # retained: Home Assistant restarting sees it
        assert (await _leak_state(late, lambda s: s is not None))["active"] is True
        await mqtt_api.call(
            "POST", f"/api/leak-alarms/{raised['alarm']['id']}/acknowledge", {}, expect=200
        )
        seen = await _leak_state(late, lambda s: s is not None and not s["active"])
        assert seen["alarm"]["acknowledged"] is True
        await _unwatch(mqtt_api, LEAKY)
        assert await _leak_state(late, lambda s: s is None) is None


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_simulated_nights_alarm_the_leaking_flat_and_not_its_neighbour(
    api: Api, seed: int
) -> None:
    await _watched(api, LEAKY, DRY)
    for point in (LEAKY, DRY):  # a slow leak: 5 L/h; the watch's minimum 4 L/h
        await api.call(
            "PUT", f"/api/points/{point}/leak-watch", WATCH | {"minimum_per_hour": 4}, expect=200
        )
    # 21:00-07:00 local, a reading every 5 minutes: a household each, one with the leak.
    nine_pm = int(datetime(2026, 11, 9, 20, tzinfo=UTC).timestamp())
    leaking = WaterNight(start_ts=nine_pm, leak_l_per_hour=5, seed=seed)
    healthy = WaterNight(start_ts=nine_pm, seed=seed)
    for point, night in ((LEAKY, leaking), (DRY, healthy)):
        body = [{"point": point, "ts": ts, "volume_l": litres} for ts, litres in night.readings()]
        await api.call("POST", "/api/readings", {"v": 2, "readings": body}, expect=200)
    found = (await api.call("GET", "/api/leak-alarms", expect=200))["alarms"]
    assert [(alarm["point"], alarm["night"]) for alarm in found] == [(LEAKY, "2026-11-09")]
    assert found[0]["lowest_per_hour"] >= 4


@pytest.mark.parametrize("resource", ["electricity", "heat"])
async def test_a_leak_watch_is_refused_on_a_point_that_measures_energy(
    api: Api, resource: str
) -> None:
    point = f"{resource}:room1"
    await api.call(
        "POST", "/api/points", {"id": point, "name": "r1", "resource": resource}, expect=201
    )
    refused = await api.call("PUT", f"/api/points/{point}/leak-watch", WATCH, expect=409)
    assert refused["error"] == {
        "code": "conflict",
        "message": f"a leak watch is for water and gas meters; {point} measures {resource}",
    }
    await api.call("GET", f"/api/points/{point}/leak-watch", expect=404)
    await api.call(
        "POST", "/api/points", {"id": "gas:room1", "name": "g", "resource": "gas"}, expect=201
    )
    await api.call("PUT", "/api/points/gas:room1/leak-watch", WATCH, expect=200)
