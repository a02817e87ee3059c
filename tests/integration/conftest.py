"""Home Assistant test-harness plumbing for the integration's tests."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/tenant_metering in every test here."""
