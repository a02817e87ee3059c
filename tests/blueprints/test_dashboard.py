"""The "Tenants" dashboard written into HA's own Lovelace storage."""

from typing import Any

from homeassistant.components.lovelace.const import LOVELACE_DATA
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.tenant_metering.dashboard import (
    URL_PATH,
    TenantDashboardInfo,
    async_publish_dashboards,
)


def tenant(
    tenant_id: str, name: str, user_id: str | None, quota: bool = False
) -> TenantDashboardInfo:
    prefix = name.lower().replace(" ", "_")
    return TenantDashboardInfo(
        tenant_id=tenant_id,
        name=name,
        status=f"sensor.{prefix}_status",
        balance=f"sensor.{prefix}_balance",
        period_energy=f"sensor.{prefix}_period_energy",
        period_cost=f"sensor.{prefix}_period_cost",
        supply=f"switch.{prefix}_supply",
        quota_remaining=f"sensor.{prefix}_quota_remaining" if quota else None,
        user_id=user_id,
    )


@pytest.fixture
async def lovelace(hass: HomeAssistant) -> HomeAssistant:
    assert await async_setup_component(hass, "lovelace", {})
    return hass


async def stored_config(hass: HomeAssistant) -> dict[str, Any]:
    return await hass.data[LOVELACE_DATA].dashboards[URL_PATH].async_load(False)


async def test_dashboard_created_with_overview_for_admins_and_private_tenant_views(
    lovelace: HomeAssistant,
    hass_admin_user: MockUser,
    hass_ws_client: WebSocketGenerator,
    hass_storage: dict[str, Any],
) -> None:
    hass = lovelace
    ana = MockUser(name="Ana").add_to_hass(hass)
    tenants = [tenant("t102", "Room 102", None, quota=True), tenant("t101", "Room 101", ana.id)]

    await async_publish_dashboards(hass, tenants)

    config = await stored_config(hass)
    overview, room_101, room_102 = config["views"]
    assert config["title"] == "Tenants"
    assert overview["visible"] == [{"user": hass_admin_user.id}]
    assert overview["cards"][0] == {
        "type": "statistics-graph",
        "title": "Energy today",
        "entities": ["sensor.room_101_period_energy", "sensor.room_102_period_energy"],
        "period": "hour",
        "days_to_show": 1,
        "stat_types": ["change"],
        "chart_type": "bar",
    }
    assert overview["cards"][1] == {
        "type": "entities",
        "title": "Room 101",
        "entities": [
            {"entity": "sensor.room_101_status", "name": "Status"},
            {"entity": "sensor.room_101_balance", "name": "Balance"},
            {"entity": "sensor.room_101_period_energy", "name": "This period"},
            {"entity": "switch.room_101_supply", "name": "Supply"},
        ],
    }
    assert room_101["path"] == "tenant-t101"
    # The landlord sees every tenant's view (issue 16); Ana, linked to t101, sees hers.
    assert room_101["visible"] == [{"user": hass_admin_user.id}, {"user": ana.id}]
    assert all("icon" not in view for view in config["views"]), "tabs show names, not icons"
    # Room 102 has no HA user yet: only landlords see its view.
    assert room_102["visible"] == [{"user": hass_admin_user.id}]
    assert [card["type"] for card in room_101["cards"]] == [
        "tile",
        "tile",
        "tile",
        "entities",
        "statistics-graph",
        "markdown",
    ]
    assert room_101["cards"][2]["tap_action"] == {"action": "none"}
    assert room_101["cards"][4]["entities"] == ["sensor.room_101_period_energy"]
    assert [row["name"] for row in room_102["cards"][3]["entities"]] == [
        "Energy this period",
        "Cost this period",
        "Allowance left",
    ]
    core_cards = {"entities", "tile", "glance", "statistics-graph", "markdown"}
    assert {card["type"] for view in config["views"] for card in view["cards"]} <= core_cards

    # Listed like a dashboard the landlord made, open to non-admins (the tenants).
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lovelace/dashboards/list"})
    listing = (await client.receive_json())["result"]
    assert [(item["url_path"], item["title"], item["require_admin"]) for item in listing] == [
        (URL_PATH, "Tenants", False)
    ]
    await hass.async_block_till_done()
    assert hass_storage["lovelace.tenant_metering"]["data"]["config"] == config


async def test_publishing_again_updates_the_same_dashboard(
    lovelace: HomeAssistant, hass_admin_user: MockUser
) -> None:
    hass = lovelace
    await async_publish_dashboards(hass, [tenant("t101", "Room 101", None)])

    await async_publish_dashboards(
        hass, [tenant("t101", "Room 101", None), tenant("t103", "Room 103", None)]
    )

    views = (await stored_config(hass))["views"]
    assert [view["title"] for view in views] == ["Overview", "Room 101", "Room 103"]
    assert [url for url in hass.data[LOVELACE_DATA].dashboards if url] == [URL_PATH]


async def test_a_yaml_dashboard_of_the_same_name_is_left_alone(hass: HomeAssistant) -> None:
    assert await async_setup_component(
        hass,
        "lovelace",
        {
            "lovelace": {
                "dashboards": {URL_PATH: {"mode": "yaml", "title": "Mine", "filename": "x.yaml"}}
            }
        },
    )

    with pytest.raises(HomeAssistantError) as raised:
        await async_publish_dashboards(hass, [tenant("t101", "Room 101", None)])
    assert raised.value.translation_key == "dashboard_not_storage"


async def test_without_lovelace_a_clear_error(hass: HomeAssistant) -> None:
    with pytest.raises(HomeAssistantError) as raised:
        await async_publish_dashboards(hass, [])
    assert raised.value.translation_key == "dashboards_unavailable"
