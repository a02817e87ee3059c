"""A tenant's supply switch: all relays of the tenant's metering points, and the ledger told.

The supply switch fans out to the switch of every metering point the ledger assigns to the
tenant: the relay switch of an ``mqtt:`` or ``modbus:`` channel, or the switch chosen for an
adopted ``ha:`` sensor (``point_switch_entity_id``).
"""

import logging
from typing import TYPE_CHECKING, Any, assert_never

from homeassistant.components.switch import (
    SwitchDeviceClass,
    SwitchEntity,
    SwitchEntityDescription,
)
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    Platform,
)
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event

from ..const import CAUSE_ARREARS, CAUSE_LANDLORD, CAUSE_SAFETY, DOMAIN, RESTORABLE_STATUSES
from ..identifiers import KEY_RELAY, adopted_registry_id, channel_key_of_point
from ..permissions import async_require_admin
from ..runtime import loaded_runtimes
from ..sources.adopted.point import AdoptedPoint
from .client import LedgerError, SupplyAction
from .entities import TenantEntity

if TYPE_CHECKING:
    from .link import LedgerLink

_LOGGER = logging.getLogger(__name__)

SUPPLY_SWITCH = SwitchEntityDescription(
    key="supply", translation_key="supply", device_class=SwitchDeviceClass.SWITCH
)


@callback
def point_switch_entity_id(hass: HomeAssistant, point: str) -> str | None:
    """The switch entity that cuts or restores the supply of a metering point, if any."""
    if (relay := channel_key_of_point(point, KEY_RELAY)) is not None:
        return er.async_get(hass).async_get_entity_id(Platform.SWITCH, DOMAIN, relay.unique_id)
    if (registry_id := adopted_registry_id(point)) is not None:
        for adopted in loaded_runtimes(hass, AdoptedPoint):
            if adopted.registry_id == registry_id:
                return adopted.switch_entity_id
    return None


@callback
def _entity_id_may_change(data: er.EventEntityRegistryUpdatedData) -> bool:
    """Registry events that can change which entity is a point's switch."""
    return data["action"] != "update" or "entity_id" in data["changes"]


class SupplySwitch(TenantEntity, SwitchEntity):
    """All relays of a tenant's metering points: on if any is on; switching fans out."""

    def __init__(self, link: "LedgerLink", tenant_id: str) -> None:
        super().__init__(link, tenant_id, SUPPLY_SWITCH)
        self._relay_entity_ids: tuple[str, ...] = ()
        self._unsubscribe_relays: CALLBACK_TYPE | None = None
        self._commanding = False  # our own command is switching (its changes are not news)
        self._syncing = False  # a report of what was seen is on its way
        self._last_off_cause: str | None = None  # why the integration last cut this supply

    def _resolve_relays(self) -> tuple[str, ...]:
        tenant = self.tenant
        if tenant is None:
            return ()
        found = (point_switch_entity_id(self.hass, point) for point in tenant.points)
        return tuple(entity_id for entity_id in found if entity_id is not None)

    @callback
    def _track_relays(self) -> bool:
        """Follow the relays' states; True if the set of relays changed."""
        relays = self._resolve_relays()
        if relays == self._relay_entity_ids and self._unsubscribe_relays is not None:
            return False
        if self._unsubscribe_relays is not None:
            self._unsubscribe_relays()
        self._relay_entity_ids = relays
        self._unsubscribe_relays = async_track_state_change_event(
            self.hass, relays, self._on_relay_change
        )
        return True

    @callback
    def _on_relay_change(self, _event: Event[EventStateChangedData]) -> None:
        self.async_write_ha_state()
        self._sync_supply()

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.link.supply_switches[self.tenant_id] = self
        self.async_on_remove(self._unregister)
        self._track_relays()
        self._sync_supply()  # the ledger may not know the supply yet
        self.async_on_remove(self._untrack_relays)
        # Relay switches may be registered (or renamed, removed) after the tenant arrived.
        self.async_on_remove(
            self.hass.bus.async_listen(
                er.EVENT_ENTITY_REGISTRY_UPDATED,
                self._on_registry_updated,
                event_filter=_entity_id_may_change,
            )
        )

    @callback
    def _unregister(self) -> None:
        if self.link.supply_switches.get(self.tenant_id) is self:
            del self.link.supply_switches[self.tenant_id]

    @callback
    def _untrack_relays(self) -> None:
        if self._unsubscribe_relays is not None:
            self._unsubscribe_relays()
            self._unsubscribe_relays = None

    @callback
    def _handle_update(self, *_: Any) -> None:
        self._track_relays()
        self.async_write_ha_state()
        self._sync_supply()

    @callback
    def _on_registry_updated(self, _event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        if self._track_relays():
            self.async_write_ha_state()

    @property
    def available(self) -> bool:
        return super().available and bool(self._relay_entity_ids)

    @property
    def is_on(self) -> bool | None:
        states = [self.hass.states.get(entity_id) for entity_id in self._relay_entity_ids]
        known = [
            state.state for state in states if state is not None and state.state in ("on", "off")
        ]
        if not known:
            return None
        return STATE_ON in known

    @property
    def _known_off(self) -> bool:
        """Whether every relay is known to be off (one unknown relay may still be on)."""
        states = [self.hass.states.get(entity_id) for entity_id in self._relay_entity_ids]
        return bool(states) and all(
            state is not None and state.state == STATE_OFF for state in states
        )

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        return {"relays": list(self._relay_entity_ids)}

    async def _switch_all(self, service: str) -> None:
        await async_require_admin(self.hass, self._context)
        if not self._relay_entity_ids:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="no_relays",
                translation_placeholders={"tenant": self.tenant_id},
            )
        await self.hass.services.async_call(
            Platform.SWITCH,
            service,
            {ATTR_ENTITY_ID: list(self._relay_entity_ids)},
            blocking=True,
            context=self._context,
        )

    async def _command(self, service: str, *, off: bool, cause: str | None, reason: str) -> None:
        """Switch every relay, then tell the ledger who switched and why."""
        self._commanding = True
        try:
            if off:
                self._last_off_cause = cause
            await self._switch_all(service)
            await self._report(off=off, cause=cause, reason=reason)
        finally:
            self._commanding = False

    async def async_turn_on(self, **kwargs: Any) -> None:
        """By hand (the landlord): the ledger records the supply on."""
        await self._command(
            SERVICE_TURN_ON, off=False, cause=None, reason="supply switched on in Home Assistant"
        )

    async def async_turn_off(self, **kwargs: Any) -> None:
        """By hand (the landlord): the ledger keeps it off whatever the tenant pays."""
        await self._command(
            SERVICE_TURN_OFF,
            off=True,
            cause=CAUSE_LANDLORD,
            reason="supply switched off by hand in Home Assistant",
        )

    async def async_apply_decision(self) -> SupplyAction:
        """Carry out the ledger's ``supply_action`` (the cut-off blueprint calls this).

        Fail safe: nothing happens while the ledger is not trusted (offline, unreachable), the
        tenant is unknown, or the decision is anything but ``cut`` or ``restore``. A cut also
        needs the status ``disconnect_due`` and is sent unless the supply is known to be off
        already: a relay whose state is unknown (a meter that takes commands but refuses reads)
        may well be on. A restore also needs the ledger's own arrears cut-off and a tenant who
        is paid up (``ok``, ``low``, ``exempt``); it is sent whatever the relays show, since
        one relay still off after a partly failed restore must still be switched on.
        """
        tenant = self.tenant
        if tenant is None or not self.link.trusted:
            return "none"
        match tenant.supply_action:
            case "cut":
                if tenant.status != "disconnect_due" or self._known_off:
                    return "none"
                await self._command(
                    SERVICE_TURN_OFF,
                    off=True,
                    cause=CAUSE_ARREARS,
                    reason=f"cut-off decided by the ledger: {tenant.status_reason or 'arrears'}",
                )
            case "restore":
                if tenant.supply_cause != CAUSE_ARREARS or tenant.status not in RESTORABLE_STATUSES:
                    return "none"
                await self._command(
                    SERVICE_TURN_ON,
                    off=False,
                    cause=None,
                    reason=f"restored by the ledger's decision: {tenant.status_reason or 'paid'}",
                )
            case "none":
                pass
            case unknown:
                assert_never(unknown)
        return tenant.supply_action

    async def _report(self, *, off: bool, cause: str | None, reason: str) -> None:
        """Tell the ledger; a failure is logged and reported again at the next change."""
        user = self._context.user_id if self._context is not None else None
        try:
            await self.link.client.report_supply(
                self.tenant_id,
                off=off,
                cause=cause,
                reason=reason,
                actor=f"ha_user:{user}" if user else "Home Assistant",
            )
        except LedgerError as err:
            _LOGGER.warning("Supply of %s not reported to the ledger: %s", self.tenant_id, err)

    @callback
    def _sync_supply(self) -> None:
        """Report a supply the ledger does not know as it is (first seen, changed at the device).

        An off the integration did not command (a tripped breaker, a relay switched at the
        device) is reported as a safety cut-off: the ledger never restores it by itself.
        """
        tenant, seen = self.tenant, self.is_on
        if (
            tenant is None
            or seen is None
            or self._commanding
            or self._syncing
            or not self.link.trusted
            or tenant.supply_off == (not seen)
        ):
            return
        self._syncing = True
        cause = None if seen else (self._last_off_cause or CAUSE_SAFETY)
        reason = f"relays seen {'on' if seen else 'off'} by Home Assistant"

        async def report() -> None:
            try:
                await self._report(off=not seen, cause=cause, reason=reason)
            finally:
                self._syncing = False

        self.link.entry.async_create_task(self.hass, report())
