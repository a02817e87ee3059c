"""Each tenant's water, gas and heat sensors, from the ``resources`` map of its published state.

Through the MQTT mock with the ledger's retained tenant state: sensors appear when the map names
a resource (at the tenant's first state or any later one), show the exact decimal figures, and
nothing is guessed for a resource this version does not know.
"""

from decimal import Decimal
import json
from typing import Any
from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.tenant_metering.ledger_link.client import (
    ResourceFigures,
    loads_json,
    parse_tenant_state,
)
from custom_components.tenant_metering.resources import Resource

from .common import attributes_of, fire, state_of
from .fake_ledger import FakeLedger, tenant_state
from .test_ledger_link import TENANT_TOPIC, setup_ledger


def figures(
    usage: str, cost: str, quota: str | None, left: str | None, exhausted: bool | None = None
) -> dict[str, Any]:
    if exhausted is None and quota is not None:
        exhausted = left == "0.000"
    return {
        "unit": "m³", "billed": True, "period_usage": usage, "period_cost": cost,
        "quota": quota, "quota_remaining": left, "quota_exhausted": exhausted,
    }  # fmt: skip


ELECTRICITY = figures("123.456", "27.86", "150.000", "26.544") | {"unit": "kWh"}
WATER = figures("1.234", "3.09", "5.000", "3.766")


async def test_water_sensors_appear_when_the_state_names_water(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    entity_registry: er.EntityRegistry,
) -> None:
    await setup_ledger(hass, fake_ledger)
    assert hass.states.get("sensor.room_101_period_water") is None

    resources = {"electricity": ELECTRICITY, "water": WATER}
    fire(hass, TENANT_TOPIC, tenant_state(resources=resources))
    await hass.async_block_till_done()

    assert state_of(hass, "sensor.room_101_period_water") == "1.234"
    usage = attributes_of(hass, "sensor.room_101_period_water")
    assert (usage["device_class"], usage["unit_of_measurement"]) == ("water", "m³")
    assert (usage["state_class"], usage["last_reset"]) == ("total", "2026-11-01T00:00:00+01:00")
    assert state_of(hass, "sensor.room_101_period_water_cost") == "3.09"
    assert attributes_of(hass, "sensor.room_101_period_water_cost")["unit_of_measurement"] == "EUR"
    assert state_of(hass, "sensor.room_101_water_quota_remaining") == "3.766"
    # Electricity keeps its own sensors; the map's entry adds none.
    assert state_of(hass, "sensor.room_101_period_energy") == "123.456"
    unique_ids = [entry.unique_id for entry in entity_registry.entities.values()]
    assert [unique_id for unique_id in unique_ids if "water" in unique_id] != []
    assert [unique_id for unique_id in unique_ids if "electricity" in unique_id] == []

    # A later state updates the figures in place; a water slot without a quota has none left.
    resources["water"] = figures("2.000", "5.00", None, None)
    fire(hass, TENANT_TOPIC, tenant_state(resources=resources))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_period_water") == "2.000"
    assert state_of(hass, "sensor.room_101_water_quota_remaining") == "unknown"


async def test_gas_and_heat_are_measured_in_their_own_units(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    heat = figures("45.678", "4.57", None, None) | {"unit": "kWh"}
    resources = {"gas": figures("0.750", "0.90", None, None), "heat": heat}
    fire(hass, TENANT_TOPIC, tenant_state(resources=resources))
    await hass.async_block_till_done()
    gas = attributes_of(hass, "sensor.room_101_period_gas")
    assert (gas["device_class"], gas["unit_of_measurement"]) == ("gas", "m³")
    assert state_of(hass, "sensor.room_101_period_gas") == "0.750"
    heat_state = attributes_of(hass, "sensor.room_101_period_heat")
    assert (heat_state["device_class"], heat_state["unit_of_measurement"]) == ("energy", "kWh")
    assert state_of(hass, "sensor.room_101_period_heat") == "45.678"
    assert hass.states.get("sensor.room_101_period_water") is None


async def test_a_new_tenant_with_water_gets_its_water_sensors_at_once(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(
        hass,
        "tenant_metering/ledger/tenant/t102/state",
        tenant_state("t102", name="Room 102", resources={"water": WATER, "steam": WATER}),
    )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_102_balance") == "12.34"
    assert state_of(hass, "sensor.room_102_period_water") == "1.234"
    # A resource this version does not know is left out, the rest of the state is kept.
    assert not [state for state in hass.states.async_all() if "steam" in state.entity_id]


@pytest.mark.parametrize(
    "resources",
    [
        "water",
        ["water"],
        {"water": "1.234"},
        {"water": figures("1.5", "x", None, None)},
        {"water": WATER | {"quota_exhausted": "yes"}},
    ],
    ids=["text", "list", "not-an-object", "not-a-decimal", "exhausted-not-a-boolean"],
)
async def test_a_malformed_resources_map_is_ignored_with_the_state(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    caplog: pytest.LogCaptureFixture,
    resources: object,
) -> None:
    await setup_ledger(hass, fake_ledger)
    fire(hass, TENANT_TOPIC, tenant_state(balance="1.00", resources=resources))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_balance") == "12.34"
    assert "Ignoring malformed state of tenant t101" in caplog.text


def test_resource_figures_are_exact_decimals_never_floats() -> None:
    tenant = parse_tenant_state(tenant_state(resources={"water": WATER}))
    assert tenant.resources == {
        Resource.WATER: ResourceFigures(
            billed=True,
            period_usage=Decimal("1.234"),
            period_cost=Decimal("3.09"),
            quota=Decimal("5.000"),
            quota_remaining=Decimal("3.766"),
            quota_exhausted=False,
        )
    }
    assert parse_tenant_state(tenant_state()).resources == {}  # older ledgers
    assert parse_tenant_state(tenant_state(resources=None)).resources == {}
    floated = json.dumps(tenant_state(resources={"water": WATER})).replace('"1.234"', "1.234")
    with pytest.raises(ValueError, match="period_usage"):
        parse_tenant_state(loads_json(floated))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    resources=json_values
    | st.dictionaries(
        st.sampled_from([*Resource, "steam", ""]) | st.text(),
        json_values | st.fixed_dictionaries({}, optional=dict.fromkeys(WATER, json_values)),
        max_size=5,
    )
)
def test_any_resources_garbage_parses_or_is_refused_with_a_value_error(resources: Any) -> None:
    try:
        tenant = parse_tenant_state(tenant_state(resources=resources))
    except ValueError:
        return
    for resource, found in tenant.resources.items():
        assert resource in Resource
        for value in (found.period_usage, found.period_cost, found.quota, found.quota_remaining):
            assert value is None or (isinstance(value, Decimal) and value.is_finite())
        assert found.quota_exhausted in (None, True, False)


async def test_water_leaving_the_map_and_coming_back_keeps_one_set_of_sensors(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_ledger(hass, fake_ledger)
    for resources in ({"water": WATER}, {}, {"water": figures("0.001", "0.01", None, None)}):
        fire(hass, TENANT_TOPIC, tenant_state(resources=resources))
        await hass.async_block_till_done()
        # A new period whose plan no longer bills water: shown unknown, not removed.
        expected = "unknown" if not resources else resources["water"]["period_usage"]
        assert state_of(hass, "sensor.room_101_period_water") == expected
    assert "already exists" not in caplog.text


async def test_a_used_up_water_quota_shows_on_its_sensor_and_in_the_status_reason(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    resources = {"electricity": ELECTRICITY, "water": figures("5.200", "0.50", "5.000", "0.000")}
    reason = "balance 12.34 EUR; water allowance of 5.000 m³ used up"
    fire(hass, TENANT_TOPIC, tenant_state(status_reason=reason, resources=resources))
    await hass.async_block_till_done()

    assert state_of(hass, "sensor.room_101_water_quota_remaining") == "0.000"
    quota = attributes_of(hass, "sensor.room_101_water_quota_remaining")
    assert (quota["quota"], quota["quota_exhausted"]) == ("5.000", True)
    # Only the electricity breaker is switched: the status and its decision stay the account's.
    assert state_of(hass, "sensor.room_101_status") == "ok"
    status = attributes_of(hass, "sensor.room_101_status")
    assert (status["reason"], status["supply_action"]) == (reason, "none")

    # The next period: water left again, flagged so; a slot without a quota flags nothing.
    resources["water"] = figures("0.100", "0.00", "5.000", "4.900")
    resources["gas"] = figures("0.750", "0.90", None, None)
    fire(hass, TENANT_TOPIC, tenant_state(resources=resources))
    await hass.async_block_till_done()
    quota = attributes_of(hass, "sensor.room_101_water_quota_remaining")
    assert (quota["quota"], quota["quota_exhausted"]) == ("5.000", False)
    gas = attributes_of(hass, "sensor.room_101_gas_quota_remaining")
    assert (gas["quota"], gas["quota_exhausted"]) == (None, None)
