"""The ledger link: tenants from the ledger's retained MQTT state, reachability via REST.

Tenant entities update from ``{prefix}/ledger/tenant/+/state`` as soon as the ledger
publishes (push). A coordinator polls ``GET /api/tenants`` every minute: it notices
tenants whose retained state went missing, raises a repair issue while the ledger cannot be
reached and clears it when the ledger returns.
"""

from datetime import timedelta
import json
import logging
from typing import Any

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import (
    DOMAIN,
    ISSUE_LEDGER_UNREACHABLE,
    LEDGER_HEALTH_INTERVAL,
    LEDGER_UNIQUE_ID,
    signal_new_tenant,
    signal_tenant_update,
)
from .guard import CutoffGuard
from .ledger import (
    LedgerAuthError,
    LedgerClient,
    LedgerError,
    TenantState,
    parse_tenant_state,
)

_LOGGER = logging.getLogger(__name__)

__all__ = ["LedgerCoordinator", "LedgerLink", "TenantState"]


class LedgerCoordinator(DataUpdateCoordinator[list[TenantState]]):
    """Polls the ledger's tenant list; its success or failure drives the repair issue."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any], client: LedgerClient) -> None:
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} ledger",
            update_interval=timedelta(seconds=LEDGER_HEALTH_INTERVAL),
        )
        self.client = client

    async def _async_update_data(self) -> list[TenantState]:
        try:
            raw = await self.client.tenants()
        except LedgerAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="ledger_auth_failed"
            ) from err
        except LedgerError as err:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                ISSUE_LEDGER_UNREACHABLE,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_LEDGER_UNREACHABLE,
                translation_placeholders={"url": self.client.url},
            )
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="ledger_unreachable",
                translation_placeholders={"url": self.client.url, "error": str(err)},
            ) from err
        ir.async_delete_issue(self.hass, DOMAIN, ISSUE_LEDGER_UNREACHABLE)
        tenants: list[TenantState] = []
        for item in raw:
            try:
                tenants.append(parse_tenant_state(item))
            except ValueError as err:
                _LOGGER.warning("Ignoring malformed tenant from the ledger: %s", err)
        return tenants


class LedgerLink:
    """Runtime of the ``ledger`` config entry."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], client: LedgerClient, prefix: str
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.client = client
        self.prefix = prefix
        self.coordinator = LedgerCoordinator(hass, entry, client)
        self.tenants: dict[str, TenantState] = {}
        # Mass-disconnection guard (guard.py): supply switches record cut-offs here.
        self.guard = CutoffGuard()
        self.ledger_online: bool | None = None
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._warned: set[str] = set()

    @property
    def device_info(self) -> DeviceInfo:
        return DeviceInfo(
            identifiers={(DOMAIN, LEDGER_UNIQUE_ID)},
            name="Tenant Metering Ledger",
            manufacturer="Tenant Metering",
            model="Ledger add-on",
            entry_type=dr.DeviceEntryType.SERVICE,
            configuration_url=self.client.url,
        )

    async def async_start(self) -> None:
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.entry.entry_id, **self.device_info
        )
        self._unsubscribers.append(
            await mqtt.async_subscribe(
                self.hass, f"{self.prefix}/ledger/tenant/+/state", self._on_tenant_state, 1
            )
        )
        self._unsubscribers.append(
            await mqtt.async_subscribe(
                self.hass, f"{self.prefix}/ledger/status", self._on_ledger_status, 1
            )
        )
        self._unsubscribers.append(self.coordinator.async_add_listener(self._on_tenant_list))
        await self.coordinator.async_refresh()

    @callback
    def async_stop(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()

    @callback
    def _on_ledger_status(self, msg: ReceiveMessage) -> None:
        self.ledger_online = msg.payload in ("online", b"online")

    @callback
    def _on_tenant_state(self, msg: ReceiveMessage) -> None:
        parts = msg.topic.split("/")
        topic_tenant = parts[-2]
        if not msg.payload:
            self._remove_tenant(topic_tenant)
            return
        try:
            tenant = parse_tenant_state(json.loads(msg.payload))
        except ValueError as err:
            level = logging.DEBUG if topic_tenant in self._warned else logging.WARNING
            self._warned.add(topic_tenant)
            _LOGGER.log(level, "Ignoring malformed state of tenant %s: %s", topic_tenant, err)
            return
        self._set_tenant(tenant)

    @callback
    def _set_tenant(self, tenant: TenantState) -> None:
        known = self.tenants.get(tenant.tenant_id)
        if known == tenant:
            return
        self.tenants[tenant.tenant_id] = tenant
        # Before the entities write their state, so an automation triggered by the status
        # already sees the guard counting this tenant.
        self.guard.set_pending(tenant.tenant_id, tenant.status == "disconnect_due")
        if known is None:
            async_dispatcher_send(
                self.hass, signal_new_tenant(self.entry.entry_id), tenant.tenant_id
            )
        else:
            if known.name != tenant.name:
                self._rename_tenant_device(tenant)
            async_dispatcher_send(
                self.hass, signal_tenant_update(self.entry.entry_id, tenant.tenant_id)
            )

    @callback
    def _rename_tenant_device(self, tenant: TenantState) -> None:
        registry = dr.async_get(self.hass)
        device = registry.async_get_device(identifiers={(DOMAIN, f"tenant_{tenant.tenant_id}")})
        if device is not None:
            registry.async_update_device(device.id, name=tenant.name)

    @callback
    def _remove_tenant(self, tenant_id: str) -> None:
        self.tenants.pop(tenant_id, None)
        self.guard.set_pending(tenant_id, False)
        registry = dr.async_get(self.hass)
        device = registry.async_get_device(identifiers={(DOMAIN, f"tenant_{tenant_id}")})
        if device is not None:
            registry.async_update_device(device.id, remove_config_entry_id=self.entry.entry_id)

    @callback
    def _on_tenant_list(self) -> None:
        """Reconcile with the ledger's tenant list: add the unknown, drop the deleted."""
        if not self.coordinator.last_update_success or self.coordinator.data is None:
            return
        listed = {tenant.tenant_id: tenant for tenant in self.coordinator.data}
        for tenant_id in set(self.tenants) - set(listed):
            self._remove_tenant(tenant_id)
        for tenant_id, tenant in listed.items():
            known = self.tenants.get(tenant_id)
            # Retained MQTT state is at least as fresh as a poll; only fill what it lacks.
            if known is None or (
                tenant.updated_at is not None
                and known.updated_at is not None
                and tenant.updated_at > known.updated_at
            ):
                self._set_tenant(tenant)
        registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            tenant_ids = [
                identifier[len("tenant_") :]
                for domain, identifier in device.identifiers
                if domain == DOMAIN and identifier.startswith("tenant_")
            ]
            if tenant_ids and tenant_ids[0] not in listed:
                registry.async_update_device(device.id, remove_config_entry_id=self.entry.entry_id)
