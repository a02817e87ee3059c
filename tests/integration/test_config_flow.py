"""Config flow: the installer creates the MQTT hub entry."""

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.tenant_metering.const import CONF_PREFIX, DOMAIN


async def test_user_flow_creates_hub_and_refuses_duplicates(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: "/building_a/"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_PREFIX: "building_a"}

    again = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    again = await hass.config_entries.flow.async_configure(
        again["flow_id"], {CONF_PREFIX: "building_a"}
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"
