"""The add-on's "Water, gas and heat" section does what it says, against the running ledger.

Its curl bodies and JSON examples are taken from addon/DOCS.md as written and sent through
the API in the section's order: the water point, the water tariff, the plan naming it, a
contract v2 reading. The ESPHome pulse counter is valid YAML for a water total in litres.
"""

import json
from pathlib import Path
import re
from typing import Any

import yaml

from tests.ledger.conftest import FLAT_TARIFF, Api, FakeClock

DOCS = Path(__file__).parents[2] / "addon" / "DOCS.md"
_CURL = re.compile(r"-d '(?P<body>.*?)' \\\s+http://homeassistant\.local:8099(?P<path>/\S+)", re.S)
_JSON = re.compile(r"```json\n(.*?)```", re.S)
_YAML = re.compile(r"```yaml\n(.*?)```", re.S)


def _section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("## Water, gas and heat\n")
    return text[start : text.index("\n## ", start + 1)]


def _examples() -> tuple[list[tuple[str, Any]], list[Any]]:
    section = _section()
    curls = [(found["path"], json.loads(found["body"])) for found in _CURL.finditer(section)]
    return curls, [json.loads(block) for block in _JSON.findall(section)]


async def test_the_sections_examples_set_up_a_billed_water_meter(
    api: Api, clock: FakeClock
) -> None:
    (point_path, point), (tariff_path, tariff) = _examples()[0]
    plan, readings = _examples()[1]
    assert (point_path, tariff_path) == ("/api/points", "/api/tariffs/water/versions")
    await api.call(
        "POST",
        "/api/tariffs/std/versions",
        {"tariff": FLAT_TARIFF, "effective_from": "2026-01-01T00:00:00+01:00", "reason": "s"},
        expect=201,
    )
    await api.call("POST", point_path, point, expect=201)
    await api.call("POST", tariff_path, tariff, expect=201)
    await api.call("POST", "/api/plans", plan, expect=201)
    listed = {row["id"]: row for row in (await api.call("GET", "/api/plans"))["plans"]}
    assert listed[plan["id"]]["resources"] == {
        "water": {"tariff_id": "water", "quota": "3", "quota_overage_rate": "5.00"}
    }
    versions = (await api.call("GET", "/api/tariffs"))["versions"]
    assert {(row["tariff_id"], row["resource"]) for row in versions} == {
        ("std", "electricity"),
        ("water", "water"),
    }
    stored = await api.call("POST", "/api/readings", readings, expect=200)
    assert (stored["stored"], stored["quarantined"]) == (1, 0)
    # A tariff prices one resource for good; a plan takes no other resource's tariff.
    electric = {**tariff, "resource": "electricity", "effective_from": "2026-02-01T00:00:00Z"}
    await api.call("POST", tariff_path, electric, expect=409)
    wrong = {**plan, "id": "wrong", "resources": {"water": {"tariff": "std"}}}
    refused = await api.call("POST", "/api/plans", wrong, expect=400)
    assert refused["error"]["message"] == "tariff std prices electricity, not water"
    # An energy_wh reading for the water point is quarantined as the section says.
    reading = {**readings["readings"][0], "ts": 1763803600}
    reading["energy_wh"] = reading.pop("volume_l") + 1
    energy = {"v": 2, "readings": [reading]}
    assert (await api.call("POST", "/api/readings", energy, expect=200))["quarantined"] == 1
    assert clock.now_us > readings["readings"][0]["ts"] * 1_000_000


def test_the_pulse_counter_example_is_a_water_total_in_litres() -> None:
    (block,) = _YAML.findall(_section())
    (counter,) = yaml.safe_load(block.replace("\n  ", "\n"))["sensor"]
    assert counter["platform"] == "pulse_meter"
    assert counter["total"] | {"name": None} == {
        "name": None,
        "unit_of_measurement": "L",
        "device_class": "water",
        "state_class": "total_increasing",
    }
