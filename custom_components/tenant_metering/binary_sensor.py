"""Binary sensors: whether a tenant is in arrears."""

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import TenantMeteringConfigEntry
from .const import ARREARS_STATUSES, LEDGER_UNIQUE_ID, TENANT_STATUSES
from .coordinator import LedgerLink, TenantState
from .entity import TenantEntity, async_listen_for_entities
from .guard import CutoffGuardBinarySensor
from .hub import ChannelEntityKey, MqttHub

PARALLEL_UPDATES = 0


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


def _no_channel_entities(_hub: MqttHub, _key: ChannelEntityKey) -> list[Entity]:
    return []


def _ledger_binary_sensors(link: LedgerLink) -> list[Entity]:
    return [CutoffGuardBinarySensor(link.guard, LEDGER_UNIQUE_ID, link.device_info)]


def _tenant_binary_sensors(link: LedgerLink, tenant_id: str) -> list[Entity]:
    return [
        TenantBinarySensor(link, tenant_id, description) for description in TENANT_BINARY_SENSORS
    ]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TenantMeteringConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the arrears sensor of every tenant, and the ledger's cut-off guard."""
    async_listen_for_entities(
        hass,
        entry,
        async_add_entities,
        channel=_no_channel_entities,
        tenant=_tenant_binary_sensors,
        ledger=_ledger_binary_sensors,
    )
