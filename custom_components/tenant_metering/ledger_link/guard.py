"""Mass-disconnection guard, as Home Assistant sees it: the cut-offs it carried out.

A tariff typo or a ledger bug can put every tenant into `disconnect_due` at once. The guard
that decides is the ledger's (`cutoff_guard_count` / `cutoff_guard_limit` in the tenant
state: beyond the limit the ledger holds further cut-offs for approval). This one counts the
tenants who lost power here or are about to (status `disconnect_due`) within a sliding window
and shows it on the ledger device, for the dashboard; no automation acts on it any more.

`CutoffGuard` is pure (no HA, time passed in). The integration owns one per ledger and
tells it about cut-offs and statuses; the two entities below show it and refresh
themselves when records leave the window.

Wiring (integration):
- supply switch `async_turn_off` → `link.record_cutoff(tenant_id)`, which records here and
  stores `cutoffs()` so the count survives a restart or reload (restored at setup);
- every tenant state update → `guard.set_pending(tenant_id, status == "disconnect_due")`,
  *before* the status sensor writes its state, so an automation triggered by that state
  already sees the guard including this tenant;
- add `CutoffsLastHourSensor(guard, device_info)` / `CutoffGuardBinarySensor(guard, …)`
  to the ledger device.
"""

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

DEFAULT_WINDOW: Final = timedelta(hours=1)
DEFAULT_LIMIT: Final = 3
# Fixed ids: the cut-off blueprint defaults to the binary sensor's id. Names still come from
# translation keys on the ledger device, but the generated id would differ
# (`binary_sensor.tenant_metering_ledger_cut_off_guard`), so the ids are set explicitly.
CUTOFFS_SENSOR_ENTITY_ID: Final = "sensor.tenant_metering_cutoffs_last_hour"
GUARD_BINARY_SENSOR_ENTITY_ID: Final = "binary_sensor.tenant_metering_cutoff_guard"


class CutoffGuard:
    """Counts tenants losing power in a sliding window; trips above a limit."""

    def __init__(self, limit: int = DEFAULT_LIMIT, window: timedelta = DEFAULT_WINDOW) -> None:
        """Allow `limit` tenants per `window` before asking for approval."""
        if limit < 0 or window <= timedelta(0):
            raise ValueError("limit must be >= 0 and window positive")
        self.limit = limit
        self.window = window
        self._cutoffs: dict[str, datetime] = {}  # tenant → latest cut-off
        self._pending: set[str] = set()
        self._listeners: list[Callable[[], None]] = []

    def record(self, ts: datetime, tenant_id: str) -> None:
        """Note that the tenant's supply was turned off at `ts` (tz-aware)."""
        latest = self._cutoffs.get(tenant_id)
        if latest is None or ts > latest:
            self._cutoffs[tenant_id] = ts
        self._notify()

    def set_pending(self, tenant_id: str, pending: bool) -> None:
        """Note whether the tenant is `disconnect_due` (about to lose power)."""
        if pending == (tenant_id in self._pending):
            return
        if pending:
            self._pending.add(tenant_id)
        else:
            self._pending.discard(tenant_id)
        self._notify()

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """The latest cut-off of each tenant cut off within the window before `now`."""
        since = now - self.window
        return {tenant: ts for tenant, ts in self._cutoffs.items() if ts > since}

    def tenants(self, now: datetime) -> frozenset[str]:
        """Tenants cut off within the window before `now`, or pending."""
        return frozenset(self.cutoffs(now).keys() | self._pending)

    def count(self, now: datetime) -> int:
        """How many tenants lost or are about to lose power in the window."""
        return len(self.tenants(now))

    def remaining(self, now: datetime) -> int:
        """How many more tenants may lose power before the guard trips."""
        return max(self.limit - self.count(now), 0)

    def tripped(self, now: datetime) -> bool:
        """More tenants than the limit: further cut-offs need approval."""
        return self.count(now) > self.limit

    def next_expiry(self, now: datetime) -> datetime | None:
        """When the next cut-off leaves the window (the count may drop then)."""
        since = now - self.window
        live = [ts for ts in self._cutoffs.values() if ts > since]
        return min(live) + self.window if live else None

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on every change; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


class _GuardEntity(Entity):
    """Shared plumbing: follow the guard and refresh when records expire."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        guard: CutoffGuard,
        *,
        entity_id: str,
        unique_id: str,
        device_info: DeviceInfo | None,
    ) -> None:
        self._guard = guard
        self.entity_id = entity_id
        self._attr_unique_id = unique_id
        self._attr_device_info = device_info
        self._cancel_expiry: CALLBACK_TYPE | None = None

    async def async_added_to_hass(self) -> None:
        """Start following the guard."""
        self.async_on_remove(self._guard.add_listener(self._async_guard_changed))
        self.async_on_remove(self._cancel_expiry_timer)
        self._schedule_expiry()

    @callback
    def _async_guard_changed(self) -> None:
        self._schedule_expiry()
        self.async_write_ha_state()

    @callback
    def _async_expired(self, _now: datetime) -> None:
        self._cancel_expiry = None
        self._async_guard_changed()

    def _schedule_expiry(self) -> None:
        self._cancel_expiry_timer()
        if (expiry := self._guard.next_expiry(dt_util.utcnow())) is not None:
            self._cancel_expiry = async_track_point_in_utc_time(
                self.hass, self._async_expired, expiry
            )

    @callback
    def _cancel_expiry_timer(self) -> None:
        if self._cancel_expiry is not None:
            self._cancel_expiry()
            self._cancel_expiry = None

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """What the landlord and the cut-off blueprint need to judge the guard."""
        now = dt_util.utcnow()
        return {
            "limit": self._guard.limit,
            "remaining": self._guard.remaining(now),
            "tenants": sorted(self._guard.tenants(now)),
        }


class CutoffsLastHourSensor(_GuardEntity, SensorEntity):
    """Tenants cut off in the window, plus those pending (status disconnect_due)."""

    _attr_translation_key = "cutoffs_last_hour"
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(
        self, guard: CutoffGuard, unique_id_prefix: str, device_info: DeviceInfo | None
    ) -> None:
        """Create the count sensor; unique id `<prefix>_cutoffs_last_hour`."""
        super().__init__(
            guard,
            entity_id=CUTOFFS_SENSOR_ENTITY_ID,
            unique_id=f"{unique_id_prefix}_cutoffs_last_hour",
            device_info=device_info,
        )

    @property
    def native_value(self) -> int:
        """The count."""
        return self._guard.count(dt_util.utcnow())


class CutoffGuardBinarySensor(_GuardEntity, BinarySensorEntity):
    """On (a problem) while further cut-offs need approval."""

    _attr_translation_key = "cutoff_guard"
    _attr_device_class = BinarySensorDeviceClass.PROBLEM

    def __init__(
        self, guard: CutoffGuard, unique_id_prefix: str, device_info: DeviceInfo | None
    ) -> None:
        """Create the guard sensor; unique id `<prefix>_cutoff_guard`."""
        super().__init__(
            guard,
            entity_id=GUARD_BINARY_SENSOR_ENTITY_ID,
            unique_id=f"{unique_id_prefix}_cutoff_guard",
            device_info=device_info,
        )

    @property
    def is_on(self) -> bool:
        """Tripped."""
        return self._guard.tripped(dt_util.utcnow())
