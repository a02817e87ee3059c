"""Ledger link: tenant devices and entities from retained MQTT state, supply switch, repairs."""

from datetime import timedelta
from unittest.mock import MagicMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.tenant_metering.const import (
    DOMAIN,
    ISSUE_LEDGER_UNREACHABLE,
    ISSUE_STATEMENTS_FAILED,
)

from .common import (
    BASE,
    FULL_CHANNEL,
    PREFIX,
    announce,
    attributes_of,
    find_device,
    fire,
    ledger_entry,
    published,
    setup_hub,
    state,
    state_of,
)
from .fake_ledger import FakeLedger, tenant_state

TENANT_TOPIC = "tenant_metering/ledger/tenant/t101/state"
STATUS_TOPIC = "tenant_metering/ledger/status"
TENANT_ENTITIES = (
    "sensor.room_101_balance",
    "sensor.room_101_status",
    "binary_sensor.room_101_arrears",
    "switch.room_101_supply",
)


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
    with patch(
        "custom_components.tenant_metering.ledger_link.link.LedgerLink.platforms", (platform,)
    ):
        entry = await setup_ledger(hass, fake_ledger)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_tenant_devices_hang_off_the_ledger(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    device_registry: dr.DeviceRegistry,
) -> None:
    await setup_ledger(hass, fake_ledger)
    ledger = find_device(hass, "ledger")
    tenant = find_device(hass, "tenant_t101")
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
    # The quota-warning blueprint reads the allowance from this attribute.
    quota = hass.states.get("sensor.room_101_quota_remaining")
    assert quota is not None
    assert (quota.state, quota.attributes["quota_kwh"]) == ("26.544", "150.000")

    # …and one removed disappears with its device.
    fire(hass, "tenant_metering/ledger/tenant/t102/state", "")
    await hass.async_block_till_done()
    assert hass.states.get("sensor.room_102_balance") is None
    assert find_device(hass, "tenant_t102") is None


async def test_unknown_status_is_not_guessed(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, TENANT_TOPIC, tenant_state(status="on_holiday"))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_status") == "unknown"
    assert state_of(hass, "binary_sensor.room_101_arrears") == "unknown"


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


async def test_statements_the_ledger_could_not_issue_raise_an_issue_until_issued(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    issue_registry: ir.IssueRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_ledger(hass, fake_ledger)
    fake_ledger.statement_failures = [
        {
            "tenant_id": "t101",
            "period_start": "2026-11-01",
            "error": "common point pump has no tariff",
            "since": "2026-12-01T06:00:00+00:00",
        }
    ]
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_STATEMENTS_FAILED)
    assert issue is not None
    assert issue.translation_placeholders == {
        "failures": "t101 from 2026-11-01: common point pump has no tariff"
    }

    fake_ledger.statement_failures = []
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_STATEMENTS_FAILED) is None


async def test_unreachable_ledger_makes_tenants_unavailable_and_raises_an_issue(
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
    # Nothing says the retained state is still true: a stale status must not cut power.
    for entity_id in TENANT_ENTITIES:
        assert state_of(hass, entity_id) == STATE_UNAVAILABLE

    fake_ledger.down = False
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is None
    assert state_of(hass, "sensor.room_101_balance") == "12.34"


async def test_ledger_last_will_makes_tenants_unavailable(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    issue_registry: ir.IssueRegistry,
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, TENANT_TOPIC, tenant_state(status="disconnect_due"))
    fire(hass, STATUS_TOPIC, "online")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_status") == "disconnect_due"

    # The ledger died: the broker publishes its last will; the retained status stays.
    fire(hass, STATUS_TOPIC, "offline")
    await hass.async_block_till_done()
    for entity_id in TENANT_ENTITIES:
        assert state_of(hass, entity_id) == STATE_UNAVAILABLE
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is not None

    fire(hass, STATUS_TOPIC, "online")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_status") == "disconnect_due"
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is None


async def test_setup_with_ledger_down_loads_and_waits_for_the_ledger(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    issue_registry: ir.IssueRegistry,
) -> None:
    fake_ledger.down = True
    entry = await setup_ledger(hass, fake_ledger)
    assert entry.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is not None
    fire(hass, TENANT_TOPIC, tenant_state())
    await hass.async_block_till_done()
    # Retained state alone may be left over from a ledger that is gone.
    assert state_of(hass, "sensor.room_101_balance") == STATE_UNAVAILABLE
    # The ledger's own "online" (its MQTT side is up) makes the pushed state live.
    fire(hass, STATUS_TOPIC, "online")
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_balance") == "12.34"
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is None

    # The issue belongs to the entry: unloading it takes the issue along.
    fire(hass, STATUS_TOPIC, "offline")
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_UNREACHABLE) is None


async def test_state_on_another_tenants_topic_is_ignored(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, TENANT_TOPIC, tenant_state("t999", balance="-99.00"))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_balance") == "12.34"
    assert hass.states.get("sensor.room_101_balance_2") is None
    assert "Ignoring state of tenant t999 published on the topic of tenant t101" in caplog.text


async def test_removed_tenant_is_not_resurrected_by_a_poll(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, TENANT_TOPIC, "")
    await hass.async_block_till_done()
    assert hass.states.get("sensor.room_101_balance") is None
    # A poll answered before the ledger archived the tenant still lists it.
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("sensor.room_101_balance") is None
    # A new retained state brings the tenant back.
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

    # One relay back on means the tenant has supply.
    fire(hass, f"{BASE}/state", state(2, 2, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    assert state_of(hass, "switch.room_101_supply") == "on"

    # The ledger heard each change of the supply: first seen on, cut by hand, on at the device.
    reports = [body for method, path, body in fake_ledger.requests if path.endswith("/supply")]
    assert [(r["supply"], r.get("cause")) for r in reports] == [
        ("on", None),
        ("off", "landlord"),
        ("on", None),
    ]


async def _supply_tenant(hass: HomeAssistant, fake_ledger: FakeLedger, **fields: object) -> None:
    fake_ledger.tenants["t101"] |= {"points": ["mqtt:a4cf12ab34cd:1"], **fields}
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    await setup_ledger(hass, fake_ledger)
    await hass.async_block_till_done()


async def _apply(hass: HomeAssistant, mqtt_mock: MagicMock, relay: str | None) -> object:
    """Call the executor; ``relay``: the command it must send (acknowledged here)."""
    before = len(await _commands(mqtt_mock))
    device = find_device(hass, "tenant_t101")
    assert device is not None
    call = hass.async_create_task(
        hass.services.async_call(
            DOMAIN,
            "apply_supply_decision",
            {"device_id": device.id},
            blocking=True,
            return_response=True,
        )
    )
    if relay is None:
        response = await call
        assert len(await _commands(mqtt_mock)) == before  # nothing switched
        return response
    if relay is not None:
        command = (await published(mqtt_mock, f"{BASE}/command", count=before + 1))[-1]
        assert command["relay"] == relay
        fire(hass, f"{BASE}/ack", {"id": command["id"], "ok": True, "relay": relay})
    return await call


async def _commands(mqtt_mock: MagicMock) -> list[object]:
    return [c for c in mqtt_mock.async_publish.call_args_list if c.args[0] == f"{BASE}/command"]


async def test_the_executor_cuts_only_what_the_ledger_decided_and_reports_the_cause(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await _supply_tenant(hass, fake_ledger)
    # No decision: nothing is switched.
    assert await _apply(hass, mqtt_mock, None) == {"action": "none"}
    # The ledger decides the cut-off.
    fire(
        hass,
        TENANT_TOPIC,
        fake_ledger.tenants["t101"]
        | {"status": "disconnect_due", "supply_action": "cut", "balance": "-3.00"},
    )
    await hass.async_block_till_done()
    assert attributes_of(hass, "sensor.room_101_status")["supply_action"] == "cut"
    assert await _apply(hass, mqtt_mock, "off") == {"action": "cut"}
    await hass.async_block_till_done()
    assert state_of(hass, "switch.room_101_supply") == "off"
    reports = [body for _m, path, body in fake_ledger.requests if path.endswith("/supply")]
    assert (reports[-1]["supply"], reports[-1]["cause"]) == ("off", "arrears")
    assert reports[-1]["reason"].startswith("cut-off decided by the ledger")

    # Paid: the ledger decides the restore of its own cut-off.
    fire(
        hass,
        TENANT_TOPIC,
        fake_ledger.tenants["t101"]
        | {"status": "ok", "supply_action": "restore", "balance": "12.00"},
    )
    await hass.async_block_till_done()
    assert await _apply(hass, mqtt_mock, "on") == {"action": "restore"}
    await hass.async_block_till_done()
    assert state_of(hass, "switch.room_101_supply") == "on"


async def test_the_executor_never_cuts_while_the_ledger_is_offline(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await _supply_tenant(hass, fake_ledger, status="disconnect_due", supply_action="cut")
    fire(hass, f"{PREFIX}/ledger/status", "offline")
    await hass.async_block_till_done()
    assert await _apply(hass, mqtt_mock, None) == {"action": "none"}
    assert state_of(hass, "switch.room_201_relay") == "on"


async def test_a_restore_never_undoes_a_cut_that_was_not_for_arrears(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    """A ledger that says restore for a landlord's cut (a bug, a forged state) is not obeyed."""
    await _supply_tenant(hass, fake_ledger)
    fire(
        hass,
        TENANT_TOPIC,
        fake_ledger.tenants["t101"]
        | {
            "supply_action": "restore",
            "supply": {
                "state": "off",
                "cause": "landlord",
                "since": "2026-11-22T06:00:00+00:00",
                "actor": "x",
                "reason": "x",
            },
        },
    )
    await hass.async_block_till_done()
    assert await _apply(hass, mqtt_mock, None) == {"action": "none"}


async def test_the_executor_cuts_a_supply_whose_relay_state_is_unknown(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    """Fail safe: a relay that does not report its state (but takes commands) is cut; only a
    supply known to be off already is not switched again."""
    fake_ledger.tenants["t101"] |= {"points": ["mqtt:a4cf12ab34cd:1"]}
    await setup_hub(hass)
    await announce(hass)
    without_relay = {k: v for k, v in FULL_CHANNEL.items() if k != "relay"}
    fire(hass, f"{BASE}/state", state(1, 1, {"1": without_relay}))
    await hass.async_block_till_done()
    await setup_ledger(hass, fake_ledger)
    await hass.async_block_till_done()
    assert state_of(hass, "switch.room_201_relay") == STATE_UNKNOWN
    due = {"status": "disconnect_due", "supply_action": "cut", "balance": "-3.00"}
    fire(hass, TENANT_TOPIC, fake_ledger.tenants["t101"] | due)
    await hass.async_block_till_done()

    assert await _apply(hass, mqtt_mock, "off") == {"action": "cut"}
    await hass.async_block_till_done()
    assert state_of(hass, "switch.room_101_supply") == "off"
    reports = [body for _m, path, body in fake_ledger.requests if path.endswith("/supply")]
    assert (reports[-1]["supply"], reports[-1]["cause"]) == ("off", "arrears")
    # Known off now: a repeated decision switches nothing.
    assert await _apply(hass, mqtt_mock, None) == {"action": "none"}


async def test_the_executor_cuts_when_one_relay_is_off_and_another_unknown(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    """The supply is known off only when every relay is: an unknown one may carry it."""
    fake_ledger.tenants["t101"] |= {"points": ["mqtt:a4cf12ab34cd:1", "mqtt:a4cf12ab34cd:2"]}
    await setup_hub(hass)
    await announce(hass)
    without_relay = {k: v for k, v in FULL_CHANNEL.items() if k != "relay"}
    fire(
        hass,
        f"{BASE}/state",
        state(1, 1, {"1": FULL_CHANNEL | {"relay": "off"}, "2": without_relay}),
    )
    await hass.async_block_till_done()
    await setup_ledger(hass, fake_ledger)
    await hass.async_block_till_done()
    due = {"status": "disconnect_due", "supply_action": "cut", "balance": "-3.00"}
    fire(hass, TENANT_TOPIC, fake_ledger.tenants["t101"] | due)
    await hass.async_block_till_done()
    device = find_device(hass, "tenant_t101")
    assert device is not None

    call = hass.async_create_task(
        hass.services.async_call(
            DOMAIN,
            "apply_supply_decision",
            {"device_id": device.id},
            blocking=True,
            return_response=True,
        )
    )
    commands = await published(mqtt_mock, f"{BASE}/command", count=2)
    assert sorted((c["channel"], c["relay"]) for c in commands) == [("1", "off"), ("2", "off")]
    for command in commands:
        fire(hass, f"{BASE}/ack", {"id": command["id"], "ok": True, "relay": "off"})
    assert await call == {"action": "cut"}


async def test_a_restore_is_never_carried_out_for_a_tenant_who_is_not_paid_up(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    """A ledger that says restore for a tenant still due for cut-off (a bug, a forged state)
    is not obeyed, even for its own arrears cut-off."""
    await _supply_tenant(hass, fake_ledger)
    fire(
        hass,
        TENANT_TOPIC,
        fake_ledger.tenants["t101"]
        | {"status": "disconnect_due", "supply_action": "cut", "balance": "-3.00"},
    )
    await hass.async_block_till_done()
    assert await _apply(hass, mqtt_mock, "off") == {"action": "cut"}
    await hass.async_block_till_done()
    for status in ("disconnect_due", "disconnected", "arrears", None):
        fire(
            hass,
            TENANT_TOPIC,
            fake_ledger.tenants["t101"]
            | {
                "status": status,
                "supply_action": "restore",
                "supply": {
                    "state": "off",
                    "cause": "arrears",
                    "since": "2026-11-22T06:00:00+00:00",
                    "actor": "x",
                    "reason": "x",
                },
            },
        )
        await hass.async_block_till_done()
        assert await _apply(hass, mqtt_mock, None) == {"action": "none"}, status
    assert state_of(hass, "switch.room_101_supply") == "off"


async def test_supply_switch_without_relays_is_unavailable(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    assert state_of(hass, "switch.room_101_supply") == STATE_UNAVAILABLE


async def test_the_guard_entities_show_the_ledgers_one_number(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    # Tenants due to be cut do not count here by themselves: the ledger's guard does.
    for number in range(1, 5):
        fire(
            hass,
            f"tenant_metering/ledger/tenant/t{number}/state",
            tenant_state(f"t{number}", name=f"Room {number}", status="disconnect_due"),
        )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.tenant_metering_cutoffs_last_hour") == STATE_UNAVAILABLE

    guard = "tenant_metering/ledger/guard"
    fire(hass, guard, {"count": 4, "limit": 3, "window_s": 3600}, retain=True)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.tenant_metering_cutoffs_last_hour") == "4"
    assert state_of(hass, "binary_sensor.tenant_metering_cutoff_guard") == "on"
    fire(hass, guard, "not json")  # ignored: the last good guard stays
    fire(hass, guard, {"count": 2, "limit": 3, "window_s": 3600})
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.tenant_metering_cutoffs_last_hour") == "2"
    assert state_of(hass, "binary_sensor.tenant_metering_cutoff_guard") == "off"


async def _tenant_with_two_relays(hass: HomeAssistant, fake_ledger: FakeLedger) -> MockConfigEntry:
    fake_ledger.tenants["t101"]["points"] = ["mqtt:a4cf12ab34cd:1", "mqtt:a4cf12ab34cd:2"]
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL, "2": FULL_CHANNEL}))
    await hass.async_block_till_done()
    return await setup_ledger(hass, fake_ledger)


async def test_a_partial_cutoff_is_an_error_and_reported_to_no_one_as_done(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await _tenant_with_two_relays(hass, fake_ledger)
    call = hass.async_create_task(
        hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.room_101_supply"}, blocking=True
        )
    )
    first, second = await published(mqtt_mock, f"{BASE}/command", count=2)
    fire(hass, f"{BASE}/ack", {"id": first["id"], "ok": True, "relay": "off"})
    fire(hass, f"{BASE}/ack", {"id": second["id"], "ok": False, "error": "interlock"})
    with pytest.raises(HomeAssistantError):
        await call
    await hass.async_block_till_done()
    # One relay did cut, the other did not: the supply is still on, and the ledger was not
    # told of a cut-off that did not happen.
    assert state_of(hass, "switch.room_101_supply") == "on"
    reports = [body for _method, path, body in fake_ledger.requests if path.endswith("/supply")]
    assert not [report for report in reports if report["supply"] == "off"]


@pytest.mark.parametrize("entity_id", ["switch.room_101_supply", "switch.room_201_relay"])
@pytest.mark.parametrize("service", [SERVICE_TURN_OFF, SERVICE_TURN_ON])
async def test_tenants_cannot_switch_supply(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    hass_user: MockUser,
    entity_id: str,
    service: str,
) -> None:
    await _tenant_with_two_relays(hass, fake_ledger)
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "switch",
            service,
            {ATTR_ENTITY_ID: entity_id},
            blocking=True,
            context=Context(user_id=hass_user.id),
        )
    assert not [c for c in mqtt_mock.async_publish.call_args_list if c.args[0].endswith("/command")]


async def test_the_ledgers_state_topics_are_subscribed_without_acknowledgements(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    """QoS 0: HA sends the broker no PUBACK for the ledger's retained state, so a restore's
    relay command right after it does not wait for the broker's delayed ACK (Nagle's
    algorithm, which HA's MQTT client leaves on; bench/bench_e2e.py measures it). The
    ledger's ``status`` stays QoS 1: the broker drops QoS 0 messages to a client whose queue
    is full, and a lost ``online`` after ``offline`` would leave the ledger untrusted; it is
    published rarely, never on a restore's way."""
    with patch.object(mqtt, "async_subscribe", wraps=mqtt.async_subscribe) as subscribe:
        await setup_ledger(hass, fake_ledger)
    subscribed = {
        call.args[1]: call.args[3] for call in subscribe.mock_calls if "/ledger/" in call.args[1]
    }
    assert subscribed == {
        f"{PREFIX}/ledger/{topic}": 0 for topic in ("tenant/+/state", "chain", "guard", "alarms/+")
    } | {f"{PREFIX}/ledger/status": 1}
