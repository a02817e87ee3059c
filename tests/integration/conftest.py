"""Home Assistant test-harness plumbing for the integration's tests."""

from collections.abc import AsyncIterator
from pathlib import Path

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from tests.integration.fake_ledger import FakeLedger, running_fake_ledger


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/tenant_metering in every test here."""


@pytest.fixture
async def fake_ledger(socket_enabled: None) -> AsyncIterator[FakeLedger]:
    """The ledger's REST API, faked on a free 127.0.0.1 port."""
    async with running_fake_ledger() as ledger:
        yield ledger


class _ReleaseSnapshotExtension(HomeAssistantSnapshotExtension):  # type: ignore[misc]  # untyped
    """HA's extension, keeping snapshots per Home Assistant release: snapshots/ha-2025.4/ …

    They serialize HA's own registry entries and states, whose fields change between
    releases, so each release the suite runs on (scripts/test, scripts/test-newest-ha) has
    its own recorded set; record a new release's with ``--snapshot-update``.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        snapshots = Path(super().dirname(test_location=test_location))
        return str(snapshots / f"ha-{MAJOR_VERSION}.{MINOR_VERSION}")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Syrupy with HA's extension (registry entries without timestamps), per HA release.

    The HA plugin defines the same override, but pytest cannot chain a plugin fixture onto
    another plugin's fixture of the same name; a conftest override works.
    """
    return snapshot.use_extension(_ReleaseSnapshotExtension)


@pytest.fixture
async def hass_user(hass: HomeAssistant) -> MockUser:
    """A non-admin HA user who may control entities: how a tenant with a login looks."""
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    assert group is not None
    user = MockUser(groups=[group]).add_to_hass(hass)
    assert not user.is_admin
    return user
