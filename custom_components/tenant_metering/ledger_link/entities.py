"""Entities of the ledger link: each tenant's figures, the ledger device's own sensors.

Tenant entities update from the ledger's retained tenant state (``LedgerLink.tenants``); the
supply switch, which acts as well, is in ``supply.py``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import json
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfEnergy, UnitOfVolume
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription

from ..compat import via_device
from ..const import (
    ARREARS_STATUSES,
    TENANT_STATUSES,
    signal_ledger_availability,
    signal_ledger_chain,
    signal_tenant_update,
)
from ..entity import SensorValue
from ..identifiers import (
    LEDGER_IDENTIFIER,
    ledger_unique_id,
    tenant_identifier,
    tenant_unique_id,
)
from ..resources import Resource
from .client import ResourceFigures, TenantState

if TYPE_CHECKING:
    from .link import LedgerLink


class TenantEntity(Entity):
    """An entity of one tenant, updated from the ledger's retained tenant state."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, link: "LedgerLink", tenant_id: str, description: EntityDescription) -> None:
        self.link = link
        self.tenant_id = tenant_id
        self.entity_description = description
        self._attr_unique_id = tenant_unique_id(tenant_id, description.key)
        tenant = link.tenants[tenant_id]
        self._attr_device_info = DeviceInfo(
            identifiers={tenant_identifier(tenant_id)},
            name=tenant.name,
            manufacturer="Tenant Metering Ledger",
            model="Tenant",
        ) | via_device(link.hass, link.entry.entry_id, LEDGER_IDENTIFIER)

    @property
    def tenant(self) -> TenantState | None:
        return self.link.tenants.get(self.tenant_id)

    @property
    def available(self) -> bool:
        """Unavailable while the ledger is not trusted: a stale status must never cut power."""
        return self.tenant is not None and self.link.trusted

    async def async_added_to_hass(self) -> None:
        for signal in (
            signal_tenant_update(self.link.entry.entry_id, self.tenant_id),
            signal_ledger_availability(self.link.entry.entry_id),
        ):
            self.async_on_remove(async_dispatcher_connect(self.hass, signal, self._handle_update))

    @callback
    def _handle_update(self, *_: Any) -> None:
        self.async_write_ha_state()


@dataclass(frozen=True, kw_only=True)
class TenantSensorEntityDescription(SensorEntityDescription):
    """A tenant figure; ``value_fn`` reads it from the ledger's tenant state."""

    value_fn: Callable[[TenantState], SensorValue]
    currency_unit: bool = False  # the unit is the tenant's currency
    last_reset_fn: Callable[[TenantState], datetime | None] | None = None


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


# How Home Assistant measures each resource beside electricity (its own sensors above).
_RESOURCE_MEASURES: dict[Resource, tuple[SensorDeviceClass, str]] = {
    Resource.WATER: (SensorDeviceClass.WATER, UnitOfVolume.CUBIC_METERS),
    Resource.GAS: (SensorDeviceClass.GAS, UnitOfVolume.CUBIC_METERS),
    Resource.HEAT: (SensorDeviceClass.ENERGY, UnitOfEnergy.KILO_WATT_HOUR),
}
RESOURCES_WITH_SENSORS: tuple[Resource, ...] = tuple(_RESOURCE_MEASURES)
_QUOTA_SENSORS = {f"{resource}_quota_remaining": resource for resource in RESOURCES_WITH_SENSORS}
"""The quota-left sensor of each resource, which also shows the whole quota and whether it
is used up."""


def _figure(
    resource: Resource, read: Callable[[ResourceFigures], SensorValue]
) -> Callable[[TenantState], SensorValue]:
    def value(tenant: TenantState) -> SensorValue:
        figures = tenant.resources.get(resource)
        return None if figures is None else read(figures)

    return value


def resource_sensor_descriptions(
    resource: Resource,
) -> tuple[TenantSensorEntityDescription, ...]:
    """A tenant's usage, cost and quota left of ``resource`` (water, gas, heat)."""
    device_class, unit = _RESOURCE_MEASURES[resource]
    return (
        TenantSensorEntityDescription(
            key=f"{resource}_period_usage",
            translation_key=f"{resource}_period_usage",
            device_class=device_class,
            native_unit_of_measurement=unit,
            suggested_display_precision=3,
            value_fn=_figure(resource, lambda figures: figures.period_usage),
            state_class=SensorStateClass.TOTAL,
            last_reset_fn=lambda tenant: tenant.period_start,
        ),
        TenantSensorEntityDescription(
            key=f"{resource}_period_cost",
            translation_key=f"{resource}_period_cost",
            device_class=SensorDeviceClass.MONETARY,
            currency_unit=True,
            value_fn=_figure(resource, lambda figures: figures.period_cost),
            state_class=SensorStateClass.TOTAL,
            last_reset_fn=lambda tenant: tenant.period_start,
        ),
        TenantSensorEntityDescription(
            key=f"{resource}_quota_remaining",
            translation_key=f"{resource}_quota_remaining",
            device_class=device_class,
            native_unit_of_measurement=unit,
            suggested_display_precision=3,
            value_fn=_figure(resource, lambda figures: figures.quota_remaining),
        ),
    )


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
        if (resource := _QUOTA_SENSORS.get(self.entity_description.key)) is not None:
            figures = tenant.resources.get(resource)
            quota = None if figures is None else figures.quota
            return {
                "quota": None if quota is None else str(quota),
                # Used up: the status reason names it; only electricity's cuts the supply.
                "quota_exhausted": None if figures is None else figures.quota_exhausted,
            }
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


@dataclass(frozen=True, kw_only=True)
class TenantBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A yes/no fact about a tenant, read by ``value_fn``."""

    value_fn: Callable[[TenantState], bool | None]


TENANT_BINARY_SENSORS: tuple[TenantBinarySensorEntityDescription, ...] = (
    TenantBinarySensorEntityDescription(
        key="arrears",
        translation_key="arrears",
        device_class=BinarySensorDeviceClass.PROBLEM,
        # A status this version does not know is not guessed either way.
        value_fn=lambda tenant: (
            tenant.status in ARREARS_STATUSES if tenant.status in TENANT_STATUSES else None
        ),
    ),
)


class TenantBinarySensor(TenantEntity, BinarySensorEntity):
    """A yes/no fact about one tenant."""

    entity_description: TenantBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        tenant = self.tenant
        return None if tenant is None else self.entity_description.value_fn(tenant)


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

    def __init__(self, link: "LedgerLink") -> None:
        self.link = link
        self._attr_unique_id = ledger_unique_id("journal_head")
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
