"""Config flows: MQTT hub (manual and discovered), ledger link (manual, add-on), reconfigure."""

import json

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
import pytest

from custom_components.tenant_metering.const import (
    CONF_KIND,
    CONF_PREFIX,
    CONF_TOKEN,
    CONF_URL,
    DOMAIN,
    KIND_LEDGER,
    KIND_MQTT_HUB,
)

from .common import DISCOVERY_TOPIC, announcement, fire, ledger_entry, setup_hub
from .fake_ledger import TOKEN, FakeLedger


def _mqtt_info(payload: str, topic: str = DISCOVERY_TOPIC) -> MqttServiceInfo:
    return MqttServiceInfo(
        topic=topic,
        payload=payload,
        qos=0,
        retain=True,
        subscribed_topic="tenant_metering/discovery/#",
        timestamp=0,
    )


async def test_user_flow_creates_hub_and_refuses_duplicates(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": KIND_MQTT_HUB}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_MQTT_HUB

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: " building_a "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_KIND: KIND_MQTT_HUB, CONF_PREFIX: "building_a"}
    assert result["result"].unique_id == "mqtt_building_a"

    again = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    again = await hass.config_entries.flow.async_configure(
        again["flow_id"], {"next_step_id": KIND_MQTT_HUB}
    )
    again = await hass.config_entries.flow.async_configure(
        again["flow_id"], {CONF_PREFIX: "building_a"}
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"


@pytest.mark.parametrize("prefix", ["", "/building_a", "building_a/", "site/+", "site/#"])
async def test_user_flow_refuses_a_bad_prefix(
    hass: HomeAssistant, mqtt_mock: object, prefix: str
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": KIND_MQTT_HUB}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: prefix}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PREFIX: "invalid_prefix"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: "building_a"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_mqtt_discovery_confirms_then_creates_one_hub(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_MQTT},
        data=_mqtt_info(json.dumps(announcement())),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert result["description_placeholders"] == {"name": "Floor 2 DB", "prefix": "tenant_metering"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_KIND: KIND_MQTT_HUB, CONF_PREFIX: "tenant_metering"}
    await hass.async_block_till_done()

    other = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_MQTT},
        data=_mqtt_info(
            json.dumps(announcement(device_id="b1", base_topic="tenant_metering/b1")),
            topic="tenant_metering/discovery/b1/config",
        ),
    )
    assert other["type"] is FlowResultType.ABORT
    assert other["reason"] == "already_configured"


async def test_manifest_topic_starts_the_flow(hass: HomeAssistant, mqtt_mock: object) -> None:
    fire(hass, DISCOVERY_TOPIC, announcement(), retain=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["step_id"] for flow in flows] == ["discovery_confirm"]


@pytest.mark.parametrize(
    ("payload", "topic"),
    [
        ("", DISCOVERY_TOPIC),
        ("{not json", DISCOVERY_TOPIC),
        (json.dumps({"schema": 2}), DISCOVERY_TOPIC),
        (json.dumps(announcement()), "elsewhere/config"),
        (json.dumps(announcement()), "tenant_metering/discovery/other0device/config"),
        (json.dumps(announcement(device_id="a4cf_12")), "tenant_metering/discovery/a4cf_12/config"),
        (json.dumps(announcement(channels=[{"id": "1:2"}])), DISCOVERY_TOPIC),
    ],
    ids=[
        "empty",
        "not json",
        "unknown schema",
        "foreign topic",
        "device id not the topic's",
        "device id with _",
        "channel id with :",
    ],
)
async def test_mqtt_discovery_aborts_on_bad_announcements(
    hass: HomeAssistant, mqtt_mock: object, payload: str, topic: str
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_MQTT}, data=_mqtt_info(payload, topic)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


async def test_mqtt_discovery_aborts_when_hub_exists(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    await setup_hub(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_MQTT},
        data=_mqtt_info(json.dumps(announcement())),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def _ledger_form(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": KIND_LEDGER}
    )
    assert result["step_id"] == KIND_LEDGER
    flow_id: str = result["flow_id"]
    return flow_id


async def test_manual_ledger_validates_url_and_token(
    hass: HomeAssistant, mqtt_mock: object, fake_ledger: FakeLedger
) -> None:
    flow_id = await _ledger_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: "http://127.0.0.1:1", CONF_TOKEN: TOKEN}
    )
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: fake_ledger.url, CONF_TOKEN: "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: fake_ledger.url + "/", CONF_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "ledger"
    assert result["data"] == {
        CONF_KIND: KIND_LEDGER,
        CONF_URL: fake_ledger.url,
        CONF_TOKEN: TOKEN,
        CONF_PREFIX: "tenant_metering",
    }
    await hass.async_block_till_done()

    again = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    again = await hass.config_entries.flow.async_configure(
        again["flow_id"], {"next_step_id": KIND_LEDGER}
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"


async def test_hassio_discovery_links_the_add_on(
    hass: HomeAssistant, mqtt_mock: object, fake_ledger: FakeLedger
) -> None:
    info = HassioServiceInfo(
        config={"url": fake_ledger.url, "token": TOKEN},
        name="Tenant Metering Ledger",
        slug="tenant_ledger",
        uuid="1234",
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_HASSIO}, data=info
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hassio_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_KIND] == KIND_LEDGER
    await hass.async_block_till_done()

    # A reinstalled add-on announces a new token: the existing link takes it.
    info.config["token"] = "rotated"
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_HASSIO}, data=info
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert hass.config_entries.async_entries(DOMAIN)[0].data[CONF_TOKEN] == "rotated"


async def test_hassio_discovery_without_url_aborts(hass: HomeAssistant, mqtt_mock: object) -> None:
    info = HassioServiceInfo(config={"token": TOKEN}, name="x", slug="x", uuid="x")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_HASSIO}, data=info
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


async def test_reconfigure_ledger(
    hass: HomeAssistant, mqtt_mock: object, fake_ledger: FakeLedger
) -> None:
    entry = ledger_entry("http://127.0.0.1:1", token="old")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fake_ledger.url, CONF_TOKEN: "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fake_ledger.url, CONF_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == fake_ledger.url
    assert entry.data[CONF_TOKEN] == TOKEN
    await hass.async_block_till_done()


async def test_reconfigure_hub_is_refused(hass: HomeAssistant, mqtt_mock: object) -> None:
    entry = await setup_hub(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_not_supported"


async def test_reauth_takes_a_new_token(
    hass: HomeAssistant, mqtt_mock: object, fake_ledger: FakeLedger
) -> None:
    entry = ledger_entry(fake_ledger.url, token="expired")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_TOKEN] == TOKEN
    await hass.async_block_till_done()
