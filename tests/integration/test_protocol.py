"""The pure parts: protocol parsing, backlog arithmetic, tenant state, translations."""

from decimal import Decimal
import json
from pathlib import Path
import re

from homeassistant.core import HomeAssistant
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
import pytest

from custom_components.tenant_metering import protocol
from custom_components.tenant_metering.backlog import (
    SeenMessages,
    hourly_registers,
    hourly_statistics,
)
from custom_components.tenant_metering.const import DOMAIN
from custom_components.tenant_metering.ledger import parse_tenant_state

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


def test_point_ids_round_trip() -> None:
    point = protocol.point_id("a4cf12ab34cd", "1")
    assert point == "mqtt:a4cf12ab34cd:1"
    assert protocol.parse_point_id(point) == ("a4cf12ab34cd", "1")
    assert protocol.parse_point_id("modbus:gw:1:2") is None


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
        "top_up", "adjust", "set_exemption", "approve_cutoff", "publish_dashboards",
        "register_energy_devices",
    }  # fmt: skip
    assert set(descriptions["top_up"]["fields"]) == {"device_id", "amount", "reason"}


def test_every_translation_key_in_code_has_a_string() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    known = set(strings["exceptions"])
    for platform in strings["entity"].values():
        known |= set(platform)
    known |= set(strings["issues"])
    used: set[str] = set()
    for source in INTEGRATION.glob("*.py"):
        used |= set(re.findall(r'translation_key="(\w+)"', source.read_text(encoding="utf-8")))
    assert used - known == set()
