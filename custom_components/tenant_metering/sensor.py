"""Sensors: measurements per channel (MQTT breaker or Modbus meter), figures per tenant."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import json
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from . import TenantMeteringConfigEntry
from .backlog import kwh
from .const import LEDGER_UNIQUE_ID, TENANT_STATUSES, signal_ledger_chain
from .coordinator import LedgerLink, TenantState
from .entity import (
    BreakerChannelEntity,
    ChannelEntity,
    ChannelValues,
    ModbusChannelEntity,
    TenantEntity,
    async_listen_for_entities,
)
from .gateway import ModbusGateway, ModbusMeter
from .guard import CutoffsLastHourSensor
from .hub import KEY_ENERGY, ChannelEntityKey, MqttHub
from .modbus import ChannelSpec

PARALLEL_UPDATES = 0

type SensorValue = StateType | Decimal | datetime


@dataclass(frozen=True, kw_only=True)
class ChannelSensorEntityDescription(SensorEntityDescription):
    """A channel measurement; ``value_fn`` reads it from the channel's latest values."""

    value_fn: Callable[[ChannelValues], SensorValue]


@dataclass(frozen=True, kw_only=True)
class TenantSensorEntityDescription(SensorEntityDescription):
    """A tenant figure; ``value_fn`` reads it from the ledger's tenant state."""

    value_fn: Callable[[TenantState], SensorValue]
    currency_unit: bool = False  # the unit is the tenant's currency
    last_reset_fn: Callable[[TenantState], datetime | None] | None = None


CHANNEL_SENSORS: tuple[ChannelSensorEntityDescription, ...] = (
    ChannelSensorEntityDescription(
        key="voltage",
        translation_key="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=1,
        value_fn=lambda state: state.voltage,
    ),
    ChannelSensorEntityDescription(
        key="current",
        translation_key="current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=2,
        value_fn=lambda state: state.current,
    ),
    ChannelSensorEntityDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda state: state.power,
    ),
    ChannelSensorEntityDescription(
        key=KEY_ENERGY,
        translation_key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda state: None if state.energy_wh is None else kwh(state.energy_wh),
    ),
    ChannelSensorEntityDescription(
        key="power_factor",
        translation_key="power_factor",
        device_class=SensorDeviceClass.POWER_FACTOR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda state: state.power_factor,
    ),
    ChannelSensorEntityDescription(
        key="frequency",
        translation_key="frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=2,
        value_fn=lambda state: state.frequency,
    ),
)
CHANNEL_SENSORS_BY_KEY = {description.key: description for description in CHANNEL_SENSORS}

TENANT_SENSORS: tuple[TenantSensorEntityDescription, ...] = (
    TenantSensorEntityDescription(
        key="balance",
        translation_key="balance",
        device_class=SensorDeviceClass.MONETARY,
        currency_unit=True,
        value_fn=lambda tenant: tenant.balance,
    ),
    TenantSensorEntityDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=list(TENANT_STATUSES),
        # An unknown status (newer ledger) is shown as unknown, never guessed.
        value_fn=lambda tenant: tenant.status if tenant.status in TENANT_STATUSES else None,
    ),
    TenantSensorEntityDescription(
        key="period_energy",
        translation_key="period_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda tenant: tenant.period_energy_kwh,
        state_class=SensorStateClass.TOTAL,
        last_reset_fn=lambda tenant: tenant.period_start,
    ),
    TenantSensorEntityDescription(
        key="period_cost",
        translation_key="period_cost",
        device_class=SensorDeviceClass.MONETARY,
        currency_unit=True,
        value_fn=lambda tenant: tenant.period_cost,
        state_class=SensorStateClass.TOTAL,
        last_reset_fn=lambda tenant: tenant.period_start,
    ),
    TenantSensorEntityDescription(
        key="quota_remaining",
        translation_key="quota_remaining",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda tenant: tenant.quota_remaining_kwh,
    ),
)


class ChannelSensor(ChannelEntity, SensorEntity):
    """A measurement of one channel, whichever source it comes from."""

    entity_description: ChannelSensorEntityDescription

    @property
    def native_value(self) -> SensorValue:
        values = self.channel_values
        return None if values is None else self.entity_description.value_fn(values)


class BreakerChannelSensor(BreakerChannelEntity, ChannelSensor):
    """A measurement of one breaker channel (a field the breaker may leave out: unknown)."""

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if self.entity_description.key == KEY_ENERGY:
            # Backlogs become long-term statistics of this sensor (statistics.py).
            self.hub.importer.attach(self.key, self.entity_id)
            self.async_on_remove(lambda: self.hub.importer.detach(self.key))


class ModbusChannelSensor(ModbusChannelEntity, ChannelSensor):
    """A measurement of one Modbus meter channel.

    Every poll reads every register, so a missing value is a failed or implausible read
    (NaN, out of range, a rejected energy spike): unavailable, never zero.
    """

    @property
    def available(self) -> bool:
        return super().available and self.native_value is not None


class TenantSensor(TenantEntity, SensorEntity):
    """A figure of one tenant's account."""

    entity_description: TenantSensorEntityDescription

    @property
    def native_value(self) -> SensorValue:
        tenant = self.tenant
        return None if tenant is None else self.entity_description.value_fn(tenant)

    @property
    def last_reset(self) -> datetime | None:
        tenant = self.tenant
        last_reset_fn = self.entity_description.last_reset_fn
        return None if tenant is None or last_reset_fn is None else last_reset_fn(tenant)

    @property
    def native_unit_of_measurement(self) -> str | None:
        if self.entity_description.currency_unit:
            tenant = self.tenant
            return tenant.currency if tenant else None
        return super().native_unit_of_measurement

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        tenant = self.tenant
        if tenant is None:
            return None
        if self.entity_description.key == "quota_remaining":
            # The quota-warning blueprint divides by it: the period's whole allowance.
            return {"quota_kwh": None if tenant.quota_kwh is None else str(tenant.quota_kwh)}
        if self.entity_description.key != "status":
            return None
        return {
            "reason": tenant.status_reason,
            "since": tenant.status_since.isoformat() if tenant.status_since else None,
            "cutoff_approved": tenant.cutoff_approved,
            # The ledger's decision the cut-off blueprint carries out (apply_supply_decision).
            "supply_action": tenant.supply_action,
            "cutoff_awaiting_approval": tenant.cutoff_awaiting_approval,
            "supply": None if tenant.supply_off is None else ("off" if tenant.supply_off else "on"),
            "supply_cause": tenant.supply_cause,
        }


def _channel_sensors(hub: MqttHub, key: ChannelEntityKey) -> list[Entity]:
    description = CHANNEL_SENSORS_BY_KEY.get(key.key)
    return [] if description is None else [BreakerChannelSensor(hub, key, description)]


def _modbus_sensors(
    gateway: ModbusGateway, meter: ModbusMeter, channel: ChannelSpec
) -> list[Entity]:
    return [
        ModbusChannelSensor(
            gateway, meter, channel.channel_id, CHANNEL_SENSORS_BY_KEY[spec.quantity]
        )
        for spec in channel.values
    ]


class JournalHeadSensor(SensorEntity):
    """The ledger's chain head as last published: the journal's newest entry id.

    Its attributes carry every series' head; give them to ``verify --seen-head`` to check the
    database against what Home Assistant saw (docs/ledger-contract.md, "Chain head").
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "journal_head"
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    # The hashes change with every write: kept on the state, not in the recorder's history.
    _unrecorded_attributes = frozenset(
        {"journal_hash", "readings_hash", "statements_hash", "key", "seen_head"}
    )

    def __init__(self, link: LedgerLink) -> None:
        self.link = link
        self._attr_unique_id = f"{LEDGER_UNIQUE_ID}_journal_head"
        self._attr_device_info = link.device_info

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_ledger_chain(self.link.entry.entry_id), self.async_write_ha_state
            )
        )

    @property
    def available(self) -> bool:
        return self.link.chain is not None

    @property
    def native_value(self) -> int | None:
        chain = self.link.chain
        return None if chain is None else chain.series["journal"].id

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        chain = self.link.chain
        if chain is None:
            return None
        attributes: dict[str, Any] = {}
        for name, head in chain.series.items():
            attributes[f"{name}_id"] = head.id
            attributes[f"{name}_hash"] = head.hash
        return attributes | {
            "key": chain.key,
            "seen_head": json.dumps(chain.as_dict(), separators=(",", ":")),
        }


def _ledger_sensors(link: LedgerLink) -> list[Entity]:
    return [
        CutoffsLastHourSensor(link.guard, LEDGER_UNIQUE_ID, link.device_info),
        JournalHeadSensor(link),
    ]


def _tenant_sensors(link: LedgerLink, tenant_id: str) -> list[Entity]:
    return [TenantSensor(link, tenant_id, description) for description in TENANT_SENSORS]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TenantMeteringConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors as breakers report fields and the ledger publishes tenants."""
    async_listen_for_entities(
        hass,
        entry,
        async_add_entities,
        channel=_channel_sensors,
        tenant=_tenant_sensors,
        ledger=_ledger_sensors,
        modbus=_modbus_sensors,
    )
