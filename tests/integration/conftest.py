"""Home Assistant test-harness plumbing for the integration's tests."""

from collections.abc import AsyncIterator

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from tests.integration.fake_ledger import FakeLedger, running_fake_ledger


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/tenant_metering in every test here."""


@pytest.fixture
async def fake_ledger(socket_enabled: None) -> AsyncIterator[FakeLedger]:
    """The ledger's REST API, faked on a free 127.0.0.1 port."""
    async with running_fake_ledger() as ledger:
        yield ledger


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Syrupy with HA's extension (registry entries without timestamps, in snapshots/).

    The HA plugin defines the same override, but pytest cannot chain a plugin fixture onto
    another plugin's fixture of the same name; a conftest override works.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
async def hass_user(hass: HomeAssistant) -> MockUser:
    """A non-admin HA user who may control entities: how a tenant with a login looks."""
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    assert group is not None
    user = MockUser(groups=[group]).add_to_hass(hass)
    assert not user.is_admin
    return user
