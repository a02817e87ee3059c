"""The mass-disconnection guard: the pure counter and its two entities."""

from datetime import UTC, datetime, timedelta

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockEntityPlatform

from custom_components.tenant_metering.ledger_link.guard import (
    CUTOFFS_SENSOR_ENTITY_ID,
    GUARD_BINARY_SENSOR_ENTITY_ID,
    CutoffGuard,
    CutoffGuardBinarySensor,
    CutoffsLastHourSensor,
)

from .conftest import TravelTo, state_of

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_guard_trips_when_more_tenants_than_the_limit_lose_power_within_an_hour() -> None:
    guard = CutoffGuard(limit=2)
    guard.record(T0, "t101")
    guard.record(T0 + timedelta(minutes=10), "t102")
    assert not guard.tripped(T0 + timedelta(minutes=10))
    assert guard.remaining(T0 + timedelta(minutes=10)) == 0

    guard.record(T0 + timedelta(minutes=20), "t103")

    assert guard.tripped(T0 + timedelta(minutes=20))
    assert guard.count(T0 + timedelta(minutes=20)) == 3
    # t101's cut-off leaves the window an hour later; the guard releases.
    assert guard.next_expiry(T0 + timedelta(minutes=20)) == T0 + timedelta(hours=1)
    assert not guard.tripped(T0 + timedelta(hours=1))
    assert guard.tenants(T0 + timedelta(hours=1)) == {"t102", "t103"}


def test_the_same_tenant_twice_counts_once() -> None:
    guard = CutoffGuard(limit=1)
    guard.record(T0, "t101")
    guard.record(T0 + timedelta(minutes=5), "t101")
    guard.record(T0 - timedelta(hours=2), "t101")  # an older, late report changes nothing

    assert guard.count(T0 + timedelta(minutes=30)) == 1
    assert not guard.tripped(T0 + timedelta(minutes=30))
    assert guard.next_expiry(T0 + timedelta(minutes=30)) == T0 + timedelta(minutes=65)


def test_pending_cut_offs_count_before_they_happen() -> None:
    """A tariff typo: three tenants turn disconnect_due at once, none cut yet."""
    guard = CutoffGuard(limit=2)
    for tenant in ("t101", "t102", "t103"):
        guard.set_pending(tenant, True)
    assert guard.tripped(T0)

    guard.set_pending("t103", False)  # topped up
    guard.record(T0, "t101")  # cut off, and still pending until the ledger says disconnected

    assert guard.tenants(T0) == {"t101", "t102"}
    assert not guard.tripped(T0)
    assert guard.next_expiry(T0) == T0 + timedelta(hours=1)


def test_listeners_hear_changes_until_removed() -> None:
    guard = CutoffGuard()
    heard: list[int] = []
    remove = guard.add_listener(lambda: heard.append(guard.count(T0)))
    guard.record(T0, "t101")
    guard.set_pending("t102", True)
    guard.set_pending("t102", True)  # no change, no call
    remove()
    guard.set_pending("t102", False)

    assert heard == [1, 2]


@pytest.mark.parametrize(("limit", "window"), [(-1, timedelta(hours=1)), (1, timedelta(0))])
def test_nonsense_settings_are_refused(limit: int, window: timedelta) -> None:
    with pytest.raises(ValueError, match="limit"):
        CutoffGuard(limit=limit, window=window)


@pytest.fixture
async def add_guard_entities(blueprint_hass: HomeAssistant):
    """Add the entities the way the integration's platforms will; remove them at teardown."""
    platforms: list[MockEntityPlatform] = []

    async def add(guard: CutoffGuard) -> None:
        for domain, entity in (
            ("sensor", CutoffsLastHourSensor(guard, "ledger1", None)),
            ("binary_sensor", CutoffGuardBinarySensor(guard, "ledger1", None)),
        ):
            platform = MockEntityPlatform(
                blueprint_hass, domain=domain, platform_name="tenant_metering"
            )
            platforms.append(platform)
            await platform.async_add_entities([entity])
        await blueprint_hass.async_block_till_done()

    yield add
    for platform in platforms:
        await platform.async_reset()


async def test_entities_follow_the_guard_and_release_after_an_hour(
    blueprint_hass: HomeAssistant, travel_to: TravelTo, add_guard_entities
) -> None:
    hass = blueprint_hass
    guard = CutoffGuard(limit=1)
    await add_guard_entities(guard)
    assert state_of(hass, GUARD_BINARY_SENSOR_ENTITY_ID).state == "off"
    assert state_of(hass, CUTOFFS_SENSOR_ENTITY_ID).state == "0"

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    guard.record(now, "t101")
    guard.record(now, "t102")
    await hass.async_block_till_done()

    tripped = state_of(hass, GUARD_BINARY_SENSOR_ENTITY_ID)
    assert tripped.state == "on"
    assert tripped.attributes["device_class"] == "problem"
    assert tripped.attributes["tenants"] == ["t101", "t102"]
    assert tripped.attributes["remaining"] == 0
    assert state_of(hass, CUTOFFS_SENSOR_ENTITY_ID).state == "2"

    await travel_to("2026-11-23T13:00:01+00:00")

    assert state_of(hass, GUARD_BINARY_SENSOR_ENTITY_ID).state == "off"
    assert state_of(hass, CUTOFFS_SENSOR_ENTITY_ID).state == "0"
