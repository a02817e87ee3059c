"""A leak watch never stops readings being stored, even on the night the clocks skip its hour."""

from datetime import UTC, datetime
from typing import NoReturn

import pytest

from tenant_ledger.operations import leaks

from .conftest import Api

POINT = "ha:water_room1"
# 28 March 2026 23:00 CET; Berlin skips 02:00-03:00 on the 29th.
EVENING = int(datetime(2026, 3, 28, 22, 0, tzinfo=UTC).timestamp())


async def test_readings_across_a_watch_window_the_clocks_skip_are_stored(api: Api) -> None:
    await api.call(
        "POST", "/api/points", {"id": POINT, "name": "Room 1", "resource": "water"}, expect=201
    )
    watch = {"window_start": "02:00", "window_end": "03:00", "minimum_per_hour": 1}
    await api.call("PUT", f"/api/points/{POINT}/leak-watch", watch, expect=200)
    readings = [
        {"point": POINT, "ts": EVENING + step * 600, "volume_l": 1_000 + 5 * step}
        for step in range(40)
    ]
    reply = await api.call("POST", "/api/readings", {"v": 2, "readings": readings}, expect=200)
    assert reply["stored"] == 40
    stored = await api.call("GET", f"/api/readings?point={POINT}&limit=100", expect=200)
    assert [r["ts"] for r in stored["readings"]] == [r["ts"] for r in readings]
    assert (await api.call("GET", "/api/leak-alarms", expect=200))["alarms"] == []


async def test_a_failing_leak_judge_is_logged_and_the_readings_are_stored(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object) -> NoReturn:
        raise ArithmeticError("a defect in the judge")

    monkeypatch.setattr(leaks, "judge_night", broken)
    await api.call(
        "POST", "/api/points", {"id": POINT, "name": "Room 1", "resource": "water"}, expect=201
    )
    watch = {"window_start": "23:00", "window_end": "05:00", "minimum_per_hour": 1}
    await api.call("PUT", f"/api/points/{POINT}/leak-watch", watch, expect=200)
    readings = [
        {"point": POINT, "ts": EVENING + step * 600, "volume_l": 1_000 + 5 * step}
        for step in range(60)
    ]
    reply = await api.call("POST", "/api/readings", {"v": 2, "readings": readings}, expect=200)
    assert reply["stored"] == 60
    assert "could not judge night 2026-03-28 of ha:water_room1" in caplog.text
