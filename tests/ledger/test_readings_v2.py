"""Readings contract version 2: a register in Wh or in litres, old messages still valid."""

import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from tenant_ledger.api import contract
from tenant_ledger.api.readings import Readings
from tenant_ledger.billing.resources import (
    UNIT_SPECS,
    Resource,
    Unit,
    base_unit,
    billing_unit,
    unit_mismatch,
)
from tenant_ledger.errors import LedgerError
from tenant_ledger.readings_in import (
    EXCERPT_CHARS,
    MAX_VALUE,
    IncomingReading,
    PayloadError,
    decode_readings,
    excerpt,
    parse_readings,
)

from .conftest import Api, FakeClock

NOV_5 = 1_793_836_800
POINT = "ha:sensor.room_201"


def _decode(document: Any) -> list[IncomingReading]:
    return decode_readings(json.dumps(document).encode())


def _error(document: Any) -> PayloadError:
    with pytest.raises(PayloadError) as raised:
        _decode(document)
    return raised.value


def test_each_resource_has_its_units() -> None:
    assert {
        resource: (spec.base_unit, spec.billing_unit) for resource, spec in UNIT_SPECS.items()
    } == {
        Resource.ELECTRICITY: (Unit.WH, "kWh"),
        Resource.HEAT: (Unit.WH, "kWh"),
        Resource.WATER: (Unit.L, "m³"),
        Resource.GAS: (Unit.L, "m³"),
    }
    assert billing_unit(Resource.WATER) == "m³"
    assert unit_mismatch(Unit.L, Resource.WATER, "w") is None
    assert unit_mismatch(Unit.L, Resource.ELECTRICITY, "x") == (
        "volume_l reading for electricity point x"
    )
    assert unit_mismatch(Unit.WH, Resource.GAS, "g") == "energy_wh reading for gas point g"


def test_a_version_1_message_is_read_as_before() -> None:
    document = {"readings": [{"point": POINT, "ts": NOV_5, "energy_wh": 1234567, "seq": 7}]}
    assert _decode(document) == [IncomingReading(POINT, NOV_5, 1234567, Unit.WH, 7)]
    assert _decode({"v": 1} | document) == _decode(document)


def test_version_2_carries_litres_and_watt_hours() -> None:
    document = {
        "v": 2,
        "readings": [
            {"point": "ha:water_201", "ts": NOV_5, "volume_l": 123456, "seq": 7},
            {"point": POINT, "ts": NOV_5, "energy_wh": 99},
        ],
    }
    assert _decode(document) == [
        IncomingReading("ha:water_201", NOV_5, 123456, Unit.L, 7),
        IncomingReading(POINT, NOV_5, 99, Unit.WH, None),
    ]


@pytest.mark.parametrize(
    ("document", "kind", "says"),
    [
        (
            {"readings": [{"point": POINT, "ts": NOV_5, "volume_l": 5}]},
            "invalid_register",
            "version 1",
        ),
        (
            {"v": 2, "readings": [{"point": POINT, "ts": NOV_5, "volume_l": 5, "energy_wh": 5}]},
            "invalid_register",
            "got energy_wh, volume_l",
        ),
        ({"v": 2, "readings": [{"point": POINT, "ts": NOV_5}]}, "invalid_register", "got none"),
        ({"v": 3, "readings": []}, "unsupported_version", "got 3"),
        ({"v": "2", "readings": []}, "unsupported_version", "got '2'"),
        ({"v": True, "readings": []}, "unsupported_version", "got True"),
        (
            {"v": 2, "readings": [{"point": POINT, "ts": NOV_5, "volume_l": -1}]},
            "invalid_volume_l",
            "integer",
        ),
        (
            {"v": 2, "readings": [{"point": POINT, "ts": NOV_5, "volume_l": 1.5}]},
            "invalid_volume_l",
            "1.5",
        ),
        (
            {
                "v": 2,
                "readings": [{"point": POINT, "ts": NOV_5, "volume_l": MAX_VALUE["volume_l"] + 1}],
            },
            "invalid_volume_l",
            "integer",
        ),
    ],
)
def test_a_bad_register_or_version_is_named(document: Any, kind: str, says: str) -> None:
    error = _error(document)
    assert error.kind == kind
    assert says in str(error)


_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    resource=st.sampled_from(Resource),
    version=st.one_of(st.just(None), _ANY_JSON),
    register=_ANY_JSON,
    extra=st.dictionaries(st.sampled_from(["energy_wh", "volume_l", "seq", "ts"]), _ANY_JSON),
)
def test_garbage_registers_give_readings_of_the_right_unit_or_a_payload_error(
    resource: Resource, version: Any, register: Any, extra: dict[str, Any]
) -> None:
    key = UNIT_SPECS[resource].readings_key
    item = {"point": POINT, "ts": NOV_5, key: register} | extra
    document: dict[str, Any] = {"readings": [item]}
    if version is not None:
        document["v"] = version
    raw = json.dumps(document).encode()
    refusal: str | None
    try:
        parsed = decode_readings(raw)
    except PayloadError as err:
        refusal = str(err)
    else:
        refusal = None
    if refusal is not None:
        # What is kept for the landlord can be stored by any database and shown as it is.
        assert refusal.isprintable()
        assert len(refusal) <= EXCERPT_CHARS + 1
        assert excerpt(raw).isprintable()
        return
    (reading,) = parsed
    # Accepted only with exactly one whole, non-negative register the version allows.
    registers = [name for name in ("energy_wh", "volume_l") if name in item]
    assert len(registers) == 1
    accepted = item[registers[0]]
    assert type(accepted) is int
    assert reading.register == accepted >= 0
    assert reading.unit is (Unit.WH if registers[0] == "energy_wh" else Unit.L)
    assert reading.unit is base_unit(resource) or registers[0] != key
    assert registers[0] == "energy_wh" or document.get("v") == 2


async def test_the_api_takes_version_2_and_names_a_bad_register(api: Api) -> None:
    body = {"v": 2, "readings": [{"point": "ha:water", "ts": NOV_5, "volume_l": 5}]}
    assert (await api.call("POST", "/api/readings", body))["stored"] == 1
    both = {"v": 2, "readings": [{"point": "ha:water", "ts": NOV_5, "volume_l": 5, "energy_wh": 1}]}
    error = (await api.call("POST", "/api/readings", both, expect=400))["error"]
    assert error["code"] == "invalid_register"
    version_one = {"readings": [{"point": "ha:water", "ts": NOV_5 + 60, "volume_l": 6}]}
    error = (await api.call("POST", "/api/readings", version_one, expect=400))["error"]
    assert error["code"] == "invalid_register"
    future = {"v": 9, "readings": []}
    error = (await api.call("POST", "/api/readings", future, expect=400))["error"]
    assert error["code"] == "unsupported_version"


async def _quarantine(api: Api) -> list[dict[str, Any]]:
    return list((await api.call("GET", "/api/readings/quarantine"))["quarantined"])


async def test_a_point_measures_one_resource_and_readings_of_another_unit_are_quarantined(
    api: Api,
) -> None:
    await api.call(
        "POST", "/api/points", {"id": "ha:water", "name": "Water", "resource": "water"}, expect=201
    )
    await api.call("POST", "/api/points", {"id": "ha:power", "name": "Power"}, expect=201)
    points = {p["id"]: p for p in (await api.call("GET", "/api/points"))["points"]}
    # Each keeps its resource's default maximum per hour (W for Wh, L/h for litres).
    assert (points["ha:water"]["resource"], points["ha:water"]["max_power_w"]) == ("water", 6000)
    assert (points["ha:power"]["resource"], points["ha:power"]["max_power_w"]) == (
        "electricity",
        100_000,
    )
    body = {
        "v": 2,
        "readings": [
            {"point": "ha:power", "ts": NOV_5, "volume_l": 5},
            {"point": "ha:water", "ts": NOV_5, "volume_l": 1000},
            {"point": "ha:water", "ts": NOV_5 + 60, "energy_wh": 1001},
        ],
    }
    assert await api.call("POST", "/api/readings", body) == {
        "stored": 1,
        "duplicates": 0,
        "conflicts": 0,
        "quarantined": 2,
    }
    found = {(q["point"], q["unit"]): (q["reason"], q["detail"]) for q in await _quarantine(api)}
    assert found == {
        ("ha:power", "L"): ("wrong_unit", "volume_l reading for electricity point ha:power"),
        ("ha:water", "Wh"): ("wrong_unit", "energy_wh reading for water point ha:water"),
    }
    # Released, a reading of the wrong unit would be counted in the point's unit: refused.
    identifier = (await _quarantine(api))[0]["id"]
    await api.call(
        "POST",
        f"/api/readings/quarantine/{identifier}/release",
        {"reason": "looks fine"},
        expect=409,
    )


async def test_water_flow_above_the_points_maximum_is_quarantined_in_litres_per_hour(
    api: Api,
) -> None:
    await api.call(
        "POST", "/api/points", {"id": "ha:water", "name": "Water", "resource": "water"}, expect=201
    )
    # 6000 L/h: 100 L in a minute is the most; 102 L (above one litre of slack) is not.
    readings = [(NOV_5, 0), (NOV_5 + 60, 101), (NOV_5 + 120, 203)]
    body = {
        "v": 2,
        "readings": [
            {"point": "ha:water", "ts": ts, "volume_l": litres} for ts, litres in readings
        ],
    }
    assert (await api.call("POST", "/api/readings", body))["quarantined"] == 1
    (item,) = await _quarantine(api)
    assert (item["ts"], item["energy_wh"], item["unit"], item["reason"]) == (
        NOV_5 + 120,
        203,
        "L",
        "above_max_power",
    )
    assert item["detail"] == (
        f"102 L in 60 s (from {NOV_5 + 60} to {NOV_5 + 120}) is an average of 6120 L/h, "
        "above the point's maximum of 6000 L/h"
    )
    # Released by the landlord, it is stored in litres as it came.
    released = await api.call(
        "POST", f"/api/readings/quarantine/{item['id']}/release", {"reason": "filled the pool"}
    )
    assert released["stored"] == 1


def _litres(point: str, *registers: tuple[int, int]) -> dict[str, Any]:
    return {
        "v": 2,
        "readings": [{"point": point, "ts": ts, "volume_l": litres} for ts, litres in registers],
    }


async def test_litres_of_a_point_not_registered_yet_never_become_watt_hours(api: Api) -> None:
    body = _litres("ha:w", (NOV_5, 120_000), (NOV_5 + 3600, 121_000))
    assert (await api.call("POST", "/api/readings", body))["stored"] == 2
    # Registered without a resource, it cannot be electricity: its stored readings are litres.
    error = (await api.call("POST", "/api/points", {"id": "ha:w", "name": "W"}, expect=409))[
        "error"
    ]
    assert error["message"] == (
        "ha:w already has readings in L (volume_l): register it as water or gas"
    )
    heat = {"id": "ha:w", "name": "W", "resource": "heat"}
    error = (await api.call("POST", "/api/points", heat, expect=409))["error"]
    assert error["message"] == (
        "ha:w already has readings in L (volume_l); a heat point counts Wh (energy_wh)"
    )
    assert (await api.call("GET", "/api/points"))["points"] == []
    # Until it is registered, a reading in the other unit is quarantined, not stored.
    watts = {"v": 2, "readings": [{"point": "ha:w", "ts": NOV_5 + 7200, "energy_wh": 5}]}
    assert (await api.call("POST", "/api/readings", watts))["quarantined"] == 1
    (item,) = await _quarantine(api)
    assert (item["reason"], item["detail"]) == (
        "wrong_unit",
        "energy_wh reading for point ha:w (not registered yet) whose readings are in L",
    )
    water = {"id": "ha:w", "name": "W", "resource": "water"}
    await api.call("POST", "/api/points", water, expect=201)
    later = _litres("ha:w", (NOV_5 + 7200, 121_500))
    assert (await api.call("POST", "/api/readings", later))["stored"] == 1
    stored = await api.call("GET", "/api/readings?point=ha:w")
    assert [r["energy_wh"] for r in stored["readings"]] == [120_000, 121_000, 121_500]


async def test_a_point_first_read_in_watt_hours_is_electricity_by_default(api: Api) -> None:
    watts = {"readings": [{"point": "ha:p", "ts": NOV_5, "energy_wh": 5}]}
    assert (await api.call("POST", "/api/readings", watts))["stored"] == 1
    assert (await api.call("POST", "/api/readings", _litres("ha:p", (NOV_5 + 60, 7))))[
        "quarantined"
    ] == 1
    gas = {"id": "ha:p", "name": "P", "resource": "gas"}
    error = (await api.call("POST", "/api/points", gas, expect=409))["error"]
    assert error["message"] == (
        "ha:p already has readings in Wh (energy_wh); a gas point counts L (volume_l)"
    )
    await api.call("POST", "/api/points", {"id": "ha:p", "name": "P"}, expect=201)
    (point,) = (await api.call("GET", "/api/points"))["points"]
    assert point["resource"] == "electricity"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (
            '{"v": true, "readings": [{"point": "p", "ts": 1793836800, "energy_wh": 1}]}',
            "unsupported_version",
        ),
        (
            '{"v": 2.0, "readings": [{"point": "p", "ts": 1793836800, "volume_l": 1}]}',
            "unsupported_version",
        ),
        (
            '{"v": null, "readings": [{"point": "p", "ts": 1793836800, "energy_wh": 1}]}',
            "unsupported_version",
        ),
        (
            '{"v": 2, "readings": [{"point": "p", "ts": 1793836800, "energy_wh": 1, '
            '"volume_l": null}]}',
            "invalid_register",
        ),
        (
            '{"v": 2, "readings": [{"point": "p", "ts": 1793836800, "energy_wh": null, '
            '"volume_l": 4}]}',
            "invalid_register",
        ),
    ],
)
async def test_the_api_refuses_what_the_mqtt_topic_refuses(api: Api, raw: str, code: str) -> None:
    with pytest.raises(PayloadError) as mqtt:
        decode_readings(raw.encode())
    assert mqtt.value.kind == code
    reply = await api.client.post(
        "/api/readings", data=raw, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert reply.status == 400
    assert (await reply.json())["error"]["code"] == code


_KEYS = st.sampled_from(["point", "ts", "energy_wh", "volume_l", "seq"])
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, 1, 2, 3, NOV_5, POINT, "ha:w", 10**15])
    | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
_READING = st.dictionaries(_KEYS, _JSON) | st.fixed_dictionaries(
    {"point": st.just(POINT), "ts": st.just(NOV_5)},
    optional={"energy_wh": _JSON, "volume_l": _JSON, "seq": _JSON},
)
_DOCUMENT = (
    st.fixed_dictionaries(
        {"readings": st.lists(_READING, max_size=3) | _JSON},
        optional={"v": st.sampled_from([1, 2]) | _JSON},
    )
    | _JSON
)


@given(document=_DOCUMENT)
@settings(max_examples=400, deadline=None)
def test_the_api_and_the_mqtt_topic_agree_on_any_readings_document(document: Any) -> None:
    raw = json.dumps(document).encode()
    try:
        mqtt: list[IncomingReading] | str = decode_readings(raw)
    except PayloadError as err:
        mqtt = err.kind
    try:
        body = contract.parse(Readings, contract.decode_body(raw), "EUR")
        api: list[IncomingReading] | str = parse_readings(body.model_dump(exclude_none=True))
    except LedgerError as err:
        api = err.code
    if api == "invalid_json":
        # The API's body decoder refuses some JSON outright (a float beyond its exact range):
        # the topic refuses that document too, for what it holds.
        assert isinstance(mqtt, str)
    else:
        assert api == mqtt


async def test_a_released_reading_of_a_point_not_registered_yet_keeps_to_its_unit(
    api: Api, clock: FakeClock
) -> None:
    # Quarantined before anything was stored for the point (stamped two days ahead).
    ahead = clock.epoch + 2 * 86_400
    early = {"readings": [{"point": "ha:w", "ts": ahead, "energy_wh": 7}]}
    assert (await api.call("POST", "/api/readings", early))["quarantined"] == 1
    assert (await api.call("POST", "/api/readings", _litres("ha:w", (NOV_5, 10))))["stored"] == 1
    (item,) = await _quarantine(api)
    path = f"/api/readings/quarantine/{item['id']}/release"
    refused = await api.call("POST", path, {"reason": "clock was right"}, expect=409)
    assert refused["error"]["message"] == (
        f"quarantined reading {item['id']} is in Wh; the readings of ha:w (not registered yet) "
        "are in L"
    )
    # Released for a point with nothing stored yet, its unit is the one remembered.
    other = {"readings": [{"point": "ha:x", "ts": ahead, "energy_wh": 7}]}
    assert (await api.call("POST", "/api/readings", other))["quarantined"] == 1
    (item,) = [q for q in await _quarantine(api) if q["point"] == "ha:x"]
    await api.call(
        "POST", f"/api/readings/quarantine/{item['id']}/release", {"reason": "ok"}, expect=200
    )
    later = _litres("ha:x", (ahead + 60, 8))
    assert (await api.call("POST", "/api/readings", later))["quarantined"] == 1
    # Registered since it was quarantined, the point's resource decides.
    litres = _litres("ha:y", (ahead, 9))
    assert (await api.call("POST", "/api/readings", litres))["quarantined"] == 1
    await api.call("POST", "/api/points", {"id": "ha:y", "name": "Y"}, expect=201)
    (item,) = [q for q in await _quarantine(api) if q["point"] == "ha:y"]
    path = f"/api/readings/quarantine/{item['id']}/release"
    refused = await api.call("POST", path, {"reason": "ok"}, expect=409)
    assert refused["error"]["message"] == (
        f"quarantined reading {item['id']} is in L; ha:y measures electricity (Wh)"
    )
