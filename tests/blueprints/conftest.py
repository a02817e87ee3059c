"""Home Assistant test-harness plumbing for the blueprint, guard, dashboard and energy tests."""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
import shutil
from typing import Any, cast

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, ServiceCall, State
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BLUEPRINT_SOURCE = REPO_ROOT / "blueprints" / "automation" / "tenant_metering"

type LoadBlueprint = Callable[[str, dict[str, Any]], Awaitable[None]]
type TravelTo = Callable[[str], Awaitable[None]]


def state_of(hass: HomeAssistant, entity_id: str) -> State:
    """The entity's state, which must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} has no state"
    return state


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/tenant_metering in every test here."""


@pytest.fixture
async def blueprint_hass(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> HomeAssistant:
    """HA with our blueprints in its config dir, UTC, at midday, with a landlord notifier."""
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to("2026-11-23 12:00:00+00:00")
    target = tmp_path / "blueprints" / "automation" / "tenant_metering"
    target.mkdir(parents=True)
    for path in BLUEPRINT_SOURCE.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    hass.config.config_dir = str(tmp_path)
    return hass


@pytest.fixture
def landlord(blueprint_hass: HomeAssistant) -> list[ServiceCall]:
    """Calls of the landlord's notify service, notify.landlord."""
    return cast("list[ServiceCall]", async_mock_service(blueprint_hass, "notify", "landlord"))


@pytest.fixture
def tenant_phone(blueprint_hass: HomeAssistant) -> list[ServiceCall]:
    """Calls of the tenant's notify service, notify.room_101."""
    return cast("list[ServiceCall]", async_mock_service(blueprint_hass, "notify", "room_101"))


@pytest.fixture
async def load_blueprint(blueprint_hass: HomeAssistant) -> AsyncIterator[LoadBlueprint]:
    """Set up one automation from one of our blueprints through HA's blueprint machinery.

    At teardown the automation is turned off, which detaches its time triggers: the
    harness fails tests that leave timers behind.
    """

    async def load(name: str, inputs: dict[str, Any]) -> None:
        config = {
            "alias": "tenant_metering",
            "use_blueprint": {"path": f"tenant_metering/{name}", "input": inputs},
        }
        assert await async_setup_component(blueprint_hass, "automation", {"automation": config})
        await blueprint_hass.async_block_till_done()
        state = blueprint_hass.states.get("automation.tenant_metering")
        assert state is not None, "the blueprint did not load"
        assert state.state == "on"

    yield load
    if blueprint_hass.states.get("automation.tenant_metering") is not None:
        await blueprint_hass.services.async_call(
            "automation", "turn_off", {"entity_id": "automation.tenant_metering"}, blocking=True
        )
        await blueprint_hass.async_block_till_done()


@pytest.fixture
def travel_to(blueprint_hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> TravelTo:
    """Move the clock to an ISO time and let HA's time triggers fire."""

    async def travel(when: str) -> None:
        moment = datetime.fromisoformat(when)
        freezer.move_to(moment)
        async_fire_time_changed(blueprint_hass, moment)
        await blueprint_hass.async_block_till_done()

    return travel
