"""Ledger link: tenant devices and entities from retained MQTT state, supply switch, repairs."""

from datetime import timedelta
from unittest.mock import MagicMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.tenant_metering.const import DOMAIN, ISSUE_LEDGER_UNREACHABLE

from .common import (
    BASE,
    FULL_CHANNEL,
    announce,
    attributes_of,
    fire,
    ledger_entry,
    published,
    setup_hub,
    state,
    state_of,
)
from .fake_ledger import FakeLedger, tenant_state

TENANT_TOPIC = "tenant_metering/ledger/tenant/t101/state"


async def setup_ledger(hass: HomeAssistant, ledger: FakeLedger) -> MockConfigEntry:
    entry = ledger_entry(ledger.url)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.mark.parametrize("platform", [Platform.SENSOR, Platform.BINARY_SENSOR, Platform.SWITCH])
async def test_tenant_entity_set(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    with patch("custom_components.tenant_metering.PLATFORMS", [platform]):
        entry = await setup_ledger(hass, fake_ledger)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_tenant_devices_hang_off_the_ledger(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    device_registry: dr.DeviceRegistry,
) -> None:
    await setup_ledger(hass, fake_ledger)
    ledger = device_registry.async_get_device(identifiers={(DOMAIN, "ledger")})
    tenant = device_registry.async_get_device(identifiers={(DOMAIN, "tenant_t101")})
    assert ledger is not None
    assert tenant is not None
    assert tenant.via_device_id == ledger.id
    assert tenant.name == "Room 101"


async def test_tenant_state_follows_mqtt(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    device_registry: dr.DeviceRegistry,
) -> None:
    await setup_ledger(hass, fake_ledger)
    assert state_of(hass, "sensor.room_101_balance") == "12.34"

    fire(hass, TENANT_TOPIC, tenant_state(balance="-3.10", status="arrears"))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_balance") == "-3.10"
    assert state_of(hass, "sensor.room_101_status") == "arrears"
    assert state_of(hass, "binary_sensor.room_101_arrears") == "on"

    # A tenant added in the ledger appears without a restart…
    fire(
        hass,
        "tenant_metering/ledger/tenant/t102/state",
        tenant_state("t102", name="Room 102", quota_kwh=None, quota_remaining_kwh=None),
    )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_102_balance") == "12.34"
    assert state_of(hass, "sensor.room_102_quota_remaining") == "unknown"

    # …and one removed disappears with its device.
    fire(hass, "tenant_metering/ledger/tenant/t102/state", "")
    await hass.async_block_till_done()
    assert hass.states.get("sensor.room_102_balance") is None
    assert device_registry.async_get_device(identifiers={(DOMAIN, "tenant_t102")}) is None


async def test_unknown_status_is_not_guessed(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, TENANT_TOPIC, tenant_state(status="on_holiday"))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_status") == "unknown"
    assert state_of(hass, "binary_sensor.room_101_arrears") == "off"


async def test_malformed_tenant_state_is_ignored(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_ledger(hass, fake_ledger)
    for payload in ("{oops", tenant_state(balance="lots")):
        fire(hass, TENANT_TOPIC, payload)
        await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_balance") == "12.34"
    assert caplog.text.count("Ignoring malformed state of tenant t101") == 2


async def test_poll_drops_tenants_the_ledger_deleted(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_ledger(hass, fake_ledger)
    assert hass.states.get("sensor.room_101_balance") is not None
    del fake_ledger.tenants["t101"]
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("sensor.room_101_balance") is None


async def test_repair_issue_while_the_ledger_is_unreachable(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    issue_registry: ir.IssueRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_ledger(hass, fake_ledger)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is None

    fake_ledger.down = True
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE)
    assert issue is not None
    assert issue.translation_placeholders == {"url": fake_ledger.url}
    # Tenant entities keep the last published state meanwhile.
    assert state_of(hass, "sensor.room_101_balance") == "12.34"

    fake_ledger.down = False
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is None


async def test_setup_with_ledger_down_still_loads(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    issue_registry: ir.IssueRegistry,
) -> None:
    fake_ledger.down = True
    entry = await setup_ledger(hass, fake_ledger)
    assert entry.state.recoverable is True
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is not None
    fire(hass, TENANT_TOPIC, tenant_state())
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_balance") == "12.34"


async def test_supply_switch_fans_out_to_the_tenants_relays(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    fake_ledger.tenants["t101"]["points"] = [
        "mqtt:a4cf12ab34cd:1",
        "mqtt:a4cf12ab34cd:2",
        "modbus:gw1:1:1",
    ]
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL, "2": FULL_CHANNEL}))
    await hass.async_block_till_done()
    await setup_ledger(hass, fake_ledger)

    assert state_of(hass, "switch.room_101_supply") == "on"
    assert attributes_of(hass, "switch.room_101_supply")["relays"] == [
        "switch.room_201_relay",
        "switch.room_202_relay",
    ]

    call = hass.async_create_task(
        hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.room_101_supply"}, blocking=True
        )
    )
    commands = await published(mqtt_mock, f"{BASE}/command", count=2)
    assert sorted(c["channel"] for c in commands) == ["1", "2"]
    assert {c["relay"] for c in commands} == {"off"}
    fire(hass, f"{BASE}/ack", {"id": commands[0]["id"], "ok": True, "relay": "off"})
    fire(hass, f"{BASE}/ack", {"id": commands[1]["id"], "ok": True, "relay": "off"})
    await call
    await hass.async_block_till_done()
    assert state_of(hass, "switch.room_101_supply") == "off"

    # The cut-off counts for the mass-disconnection guard.
    assert state_of(hass, "sensor.tenant_metering_cutoffs_last_hour") == "1"
    assert attributes_of(hass, "sensor.tenant_metering_cutoffs_last_hour")["tenants"] == ["t101"]

    # One relay back on means the tenant has supply.
    fire(hass, f"{BASE}/state", state(2, 2, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    assert state_of(hass, "switch.room_101_supply") == "on"


async def test_supply_switch_without_relays_is_unavailable(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    assert state_of(hass, "switch.room_101_supply") == STATE_UNAVAILABLE


async def test_disconnect_due_tenants_count_for_the_guard(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    for number in range(1, 5):
        fire(
            hass,
            f"tenant_metering/ledger/tenant/t{number}/state",
            tenant_state(f"t{number}", name=f"Room {number}", status="disconnect_due"),
        )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.tenant_metering_cutoffs_last_hour") == "4"
    assert state_of(hass, "binary_sensor.tenant_metering_cutoff_guard") == "on"
    fire(hass, "tenant_metering/ledger/tenant/t1/state", tenant_state("t1", status="ok"))
    fire(hass, "tenant_metering/ledger/tenant/t2/state", "")
    await hass.async_block_till_done()
    assert state_of(hass, "binary_sensor.tenant_metering_cutoff_guard") == "off"
