"""The pure parts: protocol parsing, backlog arithmetic, tenant state, translations."""

import contextlib
from decimal import Decimal
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
from hypothesis import given, strategies as st
import pytest

from custom_components.tenant_metering import const, identifiers
from custom_components.tenant_metering.const import DOMAIN
from custom_components.tenant_metering.hourly import hourly_registers, hourly_statistics
from custom_components.tenant_metering.ledger_link.client import loads_json, parse_tenant_state
from custom_components.tenant_metering.sources.mqtt import protocol
from custom_components.tenant_metering.sources.mqtt.backlog import SeenMessages
from custom_components.tenant_metering.sources.mqtt.breaker import SENSOR_FIELDS

from .common import announcement
from .fake_ledger import tenant_state

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "tenant_metering"


def test_discovery_topics() -> None:
    assert protocol.discovery_device_id("p/discovery/abc/config", "p") == "abc"
    assert protocol.discovery_device_id("p/discovery/a/b/config", "p") is None
    assert protocol.discovery_device_id("q/discovery/abc/config", "p") is None
    assert protocol.discovery_prefix("site/a/discovery/abc/config") == "site/a"
    assert protocol.discovery_prefix("site/a/abc/config") is None


def test_announcement_parses_with_integer_channel_ids() -> None:
    config = protocol.parse_discovery(
        json.dumps(announcement(channels=[{"id": 1}, {"id": "2", "name": "Shop"}]))
    )
    assert [(c.id, c.name, c.relay) for c in config.channels] == [
        ("1", "Channel 1", False),
        ("2", "Shop", False),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        announcement(channels=[{"id": "1"}, {"id": "1"}]),
        announcement(channels=[{"id": "1", "relay": "yes"}]),
        announcement(base_topic=""),
        {**announcement(), "schema": 2},
    ],
    ids=["duplicate channel", "relay not bool", "no base topic", "schema 2"],
)
def test_bad_announcements(payload: dict[str, object]) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_discovery(json.dumps(payload))


def test_state_fields_are_optional_but_typed() -> None:
    message = protocol.parse_state(
        '{"ts": 5, "channels": {"1": {"energy_wh": 7, "relay": "off", "power": 0}}}'
    )
    assert message.seq is None
    assert message.channels["1"] == protocol.ChannelState(energy_wh=7, relay="off", power=0.0)
    for bad in ('{"ts": 5, "channels": {"1": {"energy_wh": -1}}}',
                '{"ts": 5, "channels": {"1": {"energy_wh": true}}}',
                '{"ts": 5, "channels": {"1": {"energy_wh": 1, "relay": "open"}}}',
                '{"ts": 5, "channels": {"1": {"energy_wh": 1, "voltage": "230"}}}',
                "[]"):  # fmt: skip
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_state(bad)


# Any JSON value, nested; keys and values close to a state message's now and then.
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(["on", "off", "open"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["ts", "seq", "channels", "readings", "energy_wh", "voltage",
                             "power", "relay", "1", "2"]) | st.text(max_size=4),
            inner,
            max_size=6,
        )
    ),
    max_leaves=30,
)  # fmt: skip
_STATE_CHANNEL = st.fixed_dictionaries(
    {"energy_wh": st.integers(min_value=0, max_value=2**62)},
    optional={
        key: st.one_of(st.none(), st.integers(-(10**6), 10**6), st.floats(-1e9, 1e9))
        for key in protocol.MEASUREMENT_FIELDS
    }
    | {"relay": st.sampled_from(["on", "off"])},
)


@given(
    payload=st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        _JSON.map(json.dumps),
        st.fixed_dictionaries(
            {"ts": _JSON, "seq": _JSON, "channels": st.dictionaries(st.text(max_size=3), _JSON)}
        ).map(json.dumps),
    )
)
def test_garbage_states_and_backlogs_are_protocol_errors(payload: str | bytes) -> None:
    """Whatever arrives on a state or backlog topic parses or is a ProtocolError."""
    for parse in (protocol.parse_state, protocol.parse_backlog):
        with contextlib.suppress(protocol.ProtocolError):
            parse(payload)


@given(
    ts=st.integers(min_value=0, max_value=2**40),
    seq=st.none() | st.integers(min_value=0, max_value=2**40),
    channels=st.dictionaries(st.text(min_size=1, max_size=4), _STATE_CHANNEL, max_size=12),
)
def test_valid_states_keep_every_value(
    ts: int, seq: int | None, channels: dict[str, dict[str, Any]]
) -> None:
    """Integers stay integers (energy), measurements become floats, absent fields None."""
    message = protocol.parse_state(json.dumps({"ts": ts, "seq": seq, "channels": channels}))
    assert (message.ts, message.seq) == (ts, seq)
    assert message.channels == {
        channel_id: protocol.ChannelState(
            energy_wh=raw["energy_wh"],
            relay=raw.get("relay"),
            **{
                key: None if raw.get(key) is None else float(raw[key])
                for key in protocol.MEASUREMENT_FIELDS
            },
        )
        for channel_id, raw in channels.items()
    }
    assert all(type(state.energy_wh) is int for state in message.channels.values())


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"ts": 5, "channels": {"1": {"energy_wh": 1, "voltage": NaN}}}',
        '{"ts": 5, "channels": {"1": {"energy_wh": 1, "power": Infinity}}}',
        '{"ts": 5, "channels": {"1": {"energy_wh": 1e3}}}',
        b'{"ts": 5, "channels": {"1": {"energy_wh": 1, "relay": "\xff"}}}',
    ],
    ids=["deeply nested", "NaN", "Infinity", "float register", "not UTF-8"],
)
def test_states_that_are_no_measurement_are_refused(payload: str | bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_state(payload)


def test_sensor_fields_are_the_channel_states_first_fields_in_order() -> None:
    """The hub diffs two states by position, pairing each field with its sensor's key."""
    assert tuple(SENSOR_FIELDS.values()) == protocol.ChannelState._fields[: len(SENSOR_FIELDS)]
    assert protocol.ChannelState._fields[len(SENSOR_FIELDS) :] == ("relay",)


def test_point_ids_round_trip() -> None:
    point = identifiers.mqtt_point_id("a4cf12ab34cd", "1")
    assert point == "mqtt:a4cf12ab34cd:1"
    assert identifiers.parse_mqtt_point_id(point) == ("a4cf12ab34cd", "1")
    assert identifiers.parse_mqtt_point_id("modbus:gw:1:2") is None


def test_seen_messages_is_bounded() -> None:
    seen = SeenMessages(capacity=2)
    assert seen.add(1, 1)
    assert not seen.add(1, 1)
    assert seen.add(2, 2)
    assert seen.add(3, 3)
    assert seen.add(1, 1)  # forgotten: the ledger's (point, ts) key catches it


def test_hourly_statistics_treat_a_lower_register_as_a_reset() -> None:
    registers = hourly_registers([(3600 + 10, 500), (3600 + 3000, 900), (7200 + 5, 100)])
    assert registers == {3600: 900, 7200: 100}
    rows = hourly_statistics(registers, anchor_wh=400, anchor_sum=Decimal("1.000"))
    assert [(r.start, r.state, r.sum) for r in rows] == [
        (3600, Decimal("0.9"), Decimal("1.500")),
        (7200, Decimal("0.1"), Decimal("1.600")),
    ]


def test_tenant_state_money_stays_decimal() -> None:
    tenant = parse_tenant_state(tenant_state(balance="0.10"))
    assert tenant.balance == Decimal("0.10")
    assert str(tenant.balance) == "0.10"
    with pytest.raises(ValueError, match="status_since"):
        parse_tenant_state(tenant_state(status_since="2026-11-22T06:00:00"))


async def test_services_yaml_describes_every_service(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions) == {
        "top_up", "adjust", "set_exemption", "approve_cutoff", "apply_supply_decision",
        "publish_dashboards", "register_energy_devices",
    }  # fmt: skip
    assert set(descriptions["top_up"]["fields"]) == {"device_id", "amount", "reason"}


def _strings_section(strings: dict[str, Any], *path: str) -> set[str]:
    """Keys of a strings.json section, merged over config and every subentry flow."""
    flows = [strings["config"], *strings.get("config_subentries", {}).values()]
    keys: set[str] = set()
    for flow in flows:
        section: Any = flow
        for part in path:
            section = section.get(part, {})
        keys |= set(section)
    return keys


def test_every_translation_key_in_code_has_a_string() -> None:
    """Scan every module (modbus/ too): exception, entity and issue keys, written out or as
    constants, abort reasons and form errors."""
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    translations = json.loads(
        (INTEGRATION / "translations" / "en.json").read_text(encoding="utf-8")
    )
    assert translations == strings
    known = set(strings["exceptions"]) | set(strings["issues"]) | set(strings["selector"])
    for platform in strings["entity"].values():
        known |= set(platform)
    aborts = _strings_section(strings, "abort")
    errors = _strings_section(strings, "error")
    used: set[str] = set()
    used_aborts: set[str] = set()
    used_errors: set[str] = set()
    sources = sorted(INTEGRATION.rglob("*.py"))
    assert INTEGRATION / "sources" / "modbus" / "core" / "loader.py" in sources
    for source in sources:
        text = source.read_text(encoding="utf-8")
        used |= set(re.findall(r'translation_key\s*=\s*"(\w+)"', text))
        used |= set(re.findall(r'_invalid_amount\(\s*"(\w+)"', text))
        used |= {
            getattr(const, name) for name in re.findall(r"translation_key\s*=\s*([A-Z_]+)\b", text)
        }
        used_aborts |= set(re.findall(r'reason\s*=\s*"(\w+)"', text))
        used_errors |= set(re.findall(r'errors\[[^\]]+\]\s*=\s*"(\w+)"', text))
        if source.name == "config_flow.py":
            used_errors |= set(re.findall(r'(?:return|else) "(\w+)"', text))
    assert used - known == set()
    assert used_aborts - aborts == set()
    assert used_errors - errors == set()
    assert {"invalid_prefix", "cannot_connect", "invalid_auth"} <= used_errors


@pytest.mark.parametrize("value", [12.34, True, {"amount": "1"}], ids=["float", "bool", "object"])
def test_tenant_state_refuses_amounts_that_are_not_decimal_text(value: object) -> None:
    with pytest.raises(ValueError, match="balance"):
        parse_tenant_state(tenant_state(balance=value))


def test_tenant_state_whole_number_amounts_and_linked_users() -> None:
    tenant = parse_tenant_state(tenant_state(balance=12, ha_user_ids=["u1", "u2"]))
    assert tenant.balance == Decimal(12)
    assert tenant.ha_user_ids == ("u1", "u2")
    assert parse_tenant_state(tenant_state()).ha_user_ids == ()
    with pytest.raises(ValueError, match="ha_user_ids"):
        parse_tenant_state(tenant_state(ha_user_ids="u1"))


def test_ledger_json_numbers_never_become_floats() -> None:
    assert loads_json('{"balance": 22.44}') == {"balance": Decimal("22.44")}
    with pytest.raises(ValueError, match="balance"):
        parse_tenant_state(loads_json(json.dumps(tenant_state()).replace('"12.34"', "12.34")))


@pytest.mark.parametrize("device_id", ["a4cf_12", "a:b", "a/b", "", "a+b"])
def test_device_ids_outside_the_protocol_are_refused(device_id: str) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_discovery(json.dumps(announcement(device_id=device_id)))


@pytest.mark.parametrize("channel_id", ["1_2", "L1:x", "a b", ""])
def test_channel_ids_outside_the_protocol_are_refused(channel_id: str) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_discovery(json.dumps(announcement(channels=[{"id": channel_id}])))
