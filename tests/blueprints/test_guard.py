"""The mass-disconnection guard: the ledger's one number, parsed and shown by two entities."""

import json

from homeassistant.core import HomeAssistant
from hypothesis import given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockEntityPlatform

from custom_components.tenant_metering.ledger_link.guard import (
    CUTOFFS_SENSOR_ENTITY_ID,
    GUARD_BINARY_SENSOR_ENTITY_ID,
    CutoffGuardBinarySensor,
    CutoffsLastHourSensor,
    GuardState,
    LedgerGuard,
    parse_guard,
)

from .conftest import state_of


def _payload(count: int, limit: int = 3, window_s: int = 3600) -> bytes:
    return json.dumps({"count": count, "limit": limit, "window_s": window_s}).encode()


def test_the_guard_holds_at_its_limit() -> None:
    assert parse_guard(_payload(2)) == GuardState(count=2, limit=3, window_s=3600)
    assert not GuardState(count=2, limit=3, window_s=3600).holding
    # The ledger holds further cut-offs once the count reaches the limit (tenant_state).
    assert GuardState(count=3, limit=3, window_s=3600).holding


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{}",
        b"null",
        b'{"count": 1, "limit": 3}',
        b'{"count": -1, "limit": 3, "window_s": 3600}',
        b'{"count": 1.5, "limit": 3, "window_s": 3600}',
        b'{"count": true, "limit": 3, "window_s": 3600}',
        b'{"count": "1", "limit": 3, "window_s": 3600}',
        b"[" * 100_000,
        b"\xff\xfe",
        b'{"count": 1, "limit": 3, "window_s": 3600, "pad": "' + b"x" * 2000 + b'"}',
    ],
)
def test_malformed_guards_are_ignored(payload: bytes) -> None:
    assert parse_guard(payload) is None


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=2000), st.text(max_size=2000)))
def test_any_payload_gives_a_guard_or_none(payload: bytes | str) -> None:
    guard = parse_guard(payload)
    assert guard is None or (guard.count >= 0 and guard.limit >= 0)


def test_listeners_hear_changes_until_removed() -> None:
    guard = LedgerGuard()
    heard: list[int | None] = []
    remove = guard.add_listener(
        lambda: heard.append(None if guard.state is None else guard.state.count)
    )
    guard.update(GuardState(count=1, limit=3, window_s=3600))
    guard.update(GuardState(count=1, limit=3, window_s=3600))  # no change, no call
    guard.update(GuardState(count=2, limit=3, window_s=3600))
    remove()
    guard.update(GuardState(count=0, limit=3, window_s=3600))
    assert heard == [1, 2]


@pytest.fixture
async def add_guard_entities(blueprint_hass: HomeAssistant):
    """Add the entities the way the integration's platforms do; remove them at teardown."""
    platforms: list[MockEntityPlatform] = []

    async def add(guard: LedgerGuard) -> None:
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


async def test_entities_show_the_ledgers_guard(
    blueprint_hass: HomeAssistant, add_guard_entities
) -> None:
    hass = blueprint_hass
    guard = LedgerGuard()
    await add_guard_entities(guard)
    # Nothing published yet (a ledger older than the guard topic): unavailable, not "0".
    assert state_of(hass, CUTOFFS_SENSOR_ENTITY_ID).state == "unavailable"
    assert state_of(hass, GUARD_BINARY_SENSOR_ENTITY_ID).state == "unavailable"

    guard.update(GuardState(count=3, limit=3, window_s=3600))
    await hass.async_block_till_done()
    holding = state_of(hass, GUARD_BINARY_SENSOR_ENTITY_ID)
    assert holding.state == "on"
    assert holding.attributes["device_class"] == "problem"
    assert holding.attributes["remaining"] == 0
    assert holding.attributes["window_minutes"] == 60
    assert state_of(hass, CUTOFFS_SENSOR_ENTITY_ID).state == "3"

    guard.update(GuardState(count=1, limit=3, window_s=3600))
    await hass.async_block_till_done()
    assert state_of(hass, GUARD_BINARY_SENSOR_ENTITY_ID).state == "off"
    assert state_of(hass, CUTOFFS_SENSOR_ENTITY_ID).attributes["remaining"] == 2
