"""Profiles are data: built-ins validate, user files load, errors name the file and field."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from custom_components.tenant_metering.resources import Resource
from custom_components.tenant_metering.sources.modbus.core import (
    BUILT_IN_DIR,
    Profile,
    ProfileError,
    Quantity,
    load_profile_file,
    load_profiles,
)
from custom_components.tenant_metering.sources.modbus.core.profile import DataType, Table, WordOrder

BUILT_IN_IDS = {
    "peacefair_pzem016",
    "eastron_sdm120",
    "eastron_sdm630",
    "generic_prepaid_relay",
    "generic_multi_circuit",
    "generic_heat_meter",
}


def test_every_built_in_profile_loads_and_cites_its_source(profiles: dict[str, Profile]) -> None:
    assert set(profiles) == BUILT_IN_IDS
    for profile in profiles.values():
        assert profile.source
        assert profile.file is not None
        assert profile.file.parent == BUILT_IN_DIR
        assert "Source" in profile.file.read_text(encoding="utf-8")
        assert all(channel.value(Quantity.ENERGY) for channel in profile.expand())


def test_pzem016_reads_low_word_first_in_input_registers(profiles: dict[str, Profile]) -> None:
    (channel,) = profiles["peacefair_pzem016"].expand()
    energy = channel.value(Quantity.ENERGY)
    assert energy is not None
    assert (energy.table, energy.address, energy.data_type) == (Table.INPUT, 5, DataType.U32)
    assert energy.word_order is WordOrder.LOW_FIRST
    assert profiles["peacefair_pzem016"].serial.baudrate == 9600


def test_sdm630_has_three_phases_and_a_total(profiles: dict[str, Profile]) -> None:
    sdm630 = profiles["eastron_sdm630"]
    assert [c.channel_id for c in sdm630.expand()] == ["L1", "L2", "L3", "total"]
    energies = [c.value(Quantity.ENERGY) for c in sdm630.expand()]
    assert [e.address for e in energies if e] == [0x015A, 0x015C, 0x015E, 0x0048]
    assert sdm630.expand()[3].phases == 3


def test_multi_circuit_variants_stride_registers_and_coils(profiles: dict[str, Profile]) -> None:
    meter = profiles["generic_multi_circuit"]
    assert meter.channel_counts == (4, 6, 8, 12, 18)
    channels = meter.expand(18)
    assert [c.channel_id for c in channels] == [str(n) for n in range(1, 19)]
    last = channels[-1]
    energy = last.value(Quantity.ENERGY)
    assert energy is not None
    assert energy.address == 0x0106 + 17 * 8
    assert last.relay is not None
    assert last.relay.address == 17
    with pytest.raises(ValueError, match="no 5-channel variant"):
        meter.expand(5)


def test_the_heat_meter_bills_heat_in_integer_wh(profiles: dict[str, Profile]) -> None:
    heat = profiles["generic_heat_meter"]
    assert heat.resource is Resource.HEAT
    assert heat.max_power_w == 200_000
    (channel,) = heat.expand()
    energy = channel.value(Quantity.ENERGY)
    assert energy is not None
    assert (energy.table, energy.address, energy.data_type, energy.factor) == (
        Table.HOLDING,
        0,
        DataType.U32,
        1,
    )
    assert {p.profile_id for p in profiles.values() if p.resource is not Resource.ELECTRICITY} == {
        "generic_heat_meter"
    }


def test_relay_capability(profiles: dict[str, Profile]) -> None:
    assert {p.profile_id for p in profiles.values() if p.has_relay} == {
        "generic_prepaid_relay",
        "generic_multi_circuit",
    }


def _pzem_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (BUILT_IN_DIR / "peacefair_pzem016.yaml").read_text(encoding="utf-8")
    )
    return data


def _without(data: dict[str, Any], *path: str | int) -> dict[str, Any]:
    *parents, last = path
    target: Any = data
    for key in parents:
        target = target[key]
    del target[last]
    return data


def _with(data: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    *parents, last = path
    target: Any = data
    for key in parents:
        target = target[key]
    target[last] = value
    return data


BROKEN_PROFILES = {
    "energy is mandatory": (
        lambda d: _without(d, "channels", 0, "values", "energy"),
        "channels[0].values.energy",
    ),
    "unknown data type": (
        lambda d: _with(d, "f64", "channels", 0, "values", "voltage", "type"),
        "channels[0].values.voltage.type",
    ),
    "unit must fit the quantity": (
        lambda d: _with(d, "kWh", "channels", 0, "values", "power", "unit"),
        "channels[0].values.power.unit",
    ),
    "address beyond 65535": (
        lambda d: _with(d, 70000, "channels", 0, "values", "current", "address"),
        "channels[0].values.current.address",
    ),
    "32-bit value past the last register": (
        lambda d: _with(d, 0xFFFF, "channels", 0, "values", "energy", "address"),
        "channels[0].values.energy",
    ),
    "zero scale": (
        lambda d: _with(d, 0, "channels", 0, "values", "voltage", "scale"),
        "channels[0].values.voltage.scale",
    ),
    "a citation is required": (lambda d: _without(d, "source"), "source"),
    "coil relay values are bits": (
        lambda d: _with(d, {"table": "coil", "address": 0, "on": 2}, "channels", 0, "relay"),
        "channels[0].relay",
    ),
    "duplicate channel ids": (
        lambda d: _with(d, [d["channels"][0], d["channels"][0]], "channels"),
        "channels",
    ),
    "one layout only": (
        lambda d: _with(
            d, {"counts": [2], "values": d["channels"][0]["values"]}, "channel_template"
        ),
        "<channels/channel_template>",
    ),
    "no layout at all": (lambda d: _without(d, "channels"), "channels"),
    "unknown key": (lambda d: _with(d, 1, "registers"), "registers"),
    "a Modbus meter meters electricity or heat": (
        lambda d: _with(d, "water", "resource"),
        "resource",
    ),
    "a ceiling is whole watts": (lambda d: _with(d, "lots", "max_power_w"), "max_power_w"),
}


@pytest.mark.parametrize("case", list(BROKEN_PROFILES), ids=list(BROKEN_PROFILES))
def test_validation_errors_name_file_and_field(tmp_path: Path, case: str) -> None:
    mutate, field = BROKEN_PROFILES[case]
    file = tmp_path / "broken.yaml"
    file.write_text(yaml.safe_dump(mutate(copy.deepcopy(_pzem_data()))), encoding="utf-8")
    with pytest.raises(ProfileError) as raised:
        load_profile_file(file)
    assert raised.value.file == file
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{file}: {field}: ")


def test_unparsable_file_is_reported(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"bad\.yaml: \(file\)"):
        load_profile_file(file)


def test_user_profile_directory_adds_replaces_and_reports(tmp_path: Path) -> None:
    user_dir = tmp_path / "tenant_metering" / "profiles"
    user_dir.mkdir(parents=True)
    custom = _with(_pzem_data(), "my_pzem", "id")
    custom["name"] = "My PZEM"
    (user_dir / "my_pzem.json").write_text(json.dumps(custom), encoding="utf-8")
    fixed_sdm120 = yaml.safe_load((BUILT_IN_DIR / "eastron_sdm120.yaml").read_text("utf-8"))
    fixed_sdm120["serial"]["baudrate"] = 9600
    (user_dir / "sdm120.yaml").write_text(yaml.safe_dump(fixed_sdm120), encoding="utf-8")
    (user_dir / "broken.yml").write_text("schema: 1\nid: Broken\n", encoding="utf-8")
    (user_dir / "notes.txt").write_text("not a profile", encoding="utf-8")

    catalog = load_profiles([user_dir, tmp_path / "missing"])

    assert set(catalog.profiles) == BUILT_IN_IDS | {"my_pzem"}
    assert catalog.profiles["my_pzem"].name == "My PZEM"
    assert catalog.profiles["eastron_sdm120"].serial.baudrate == 9600
    assert catalog.profiles["eastron_sdm120"].file == user_dir / "sdm120.yaml"
    (error,) = catalog.errors
    assert error.file == user_dir / "broken.yml"
    assert error.field == "id"


def test_same_id_twice_in_one_directory_is_an_error(tmp_path: Path) -> None:
    text = (BUILT_IN_DIR / "peacefair_pzem016.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(text, encoding="utf-8")
    catalog = load_profiles([tmp_path])
    (error,) = catalog.errors
    assert (error.file.name, error.field) == ("b.yaml", "id")
    assert catalog.profiles["peacefair_pzem016"].file == tmp_path / "a.yaml"
