"""The mass-disconnection guard, as the ledger keeps it: one number, shown on the ledger device.

A tariff typo or a ledger bug can put every tenant into `disconnect_due` at once. The ledger
owns the guard: it counts the tenants cut off for arrears in the last hour plus those due to
be, and beyond its limit (`cutoff_guard_limit`) further cut-offs wait for the landlord's
approval. It publishes that count, retained, on `{prefix}/ledger/guard`
(`{"count": 2, "limit": 3, "window_s": 3600}`, docs/ledger-contract.md); these two entities
show it as it is, so Home Assistant and the ledger never show two different numbers.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
import logging
from typing import Any, Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity

_LOGGER = logging.getLogger(__name__)

# Fixed ids: the cut-off blueprint and dashboards name them. Names still come from
# translation keys on the ledger device, but the generated id would differ
# (`binary_sensor.tenant_metering_ledger_cut_off_guard`), so the ids are set explicitly.
CUTOFFS_SENSOR_ENTITY_ID: Final = "sensor.tenant_metering_cutoffs_last_hour"
GUARD_BINARY_SENSOR_ENTITY_ID: Final = "binary_sensor.tenant_metering_cutoff_guard"
_MAX_PAYLOAD: Final = 1024


@dataclass(frozen=True, kw_only=True)
class GuardState:
    """The ledger's guard: ``count`` tenants within ``window_s``; at ``limit`` it holds."""

    count: int
    limit: int
    window_s: int

    @property
    def holding(self) -> bool:
        """Further arrears cut-offs wait for the landlord's approval."""
        return self.count >= self.limit


def parse_guard(payload: bytes | str) -> GuardState | None:
    """The guard from its MQTT payload; None (and a warning) for anything malformed."""
    try:
        if len(payload) > _MAX_PAYLOAD:
            raise ValueError("too long")
        data = json.loads(payload)
        values = {key: data[key] for key in ("count", "limit", "window_s")}
        if any(type(value) is not int or value < 0 for value in values.values()):
            raise ValueError("counts must be whole numbers, not negative")
    except (ValueError, TypeError, KeyError, RecursionError) as err:
        _LOGGER.warning("Ignoring a malformed cut-off guard from the ledger: %s", err)
        return None
    return GuardState(**values)


class LedgerGuard:
    """The newest guard the ledger published; None until it has (an older ledger)."""

    def __init__(self) -> None:
        self.state: GuardState | None = None
        self._listeners: list[Callable[[], None]] = []

    @callback
    def update(self, state: GuardState) -> None:
        if state == self.state:
            return
        self.state = state
        for listener in list(self._listeners):
            listener()

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` on every change; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


class _GuardEntity(Entity):
    """Shared plumbing: follow the ledger's guard."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        guard: LedgerGuard,
        *,
        entity_id: str,
        unique_id: str,
        device_info: DeviceInfo | None,
    ) -> None:
        self._guard = guard
        self.entity_id = entity_id
        self._attr_unique_id = unique_id
        self._attr_device_info = device_info

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(self._guard.add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        return self._guard.state is not None

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """What the landlord needs to judge the guard."""
        if (state := self._guard.state) is None:
            return None
        return {
            "limit": state.limit,
            "remaining": max(state.limit - state.count, 0),
            "window_minutes": state.window_s // 60,
        }


class CutoffsLastHourSensor(_GuardEntity, SensorEntity):
    """Tenants the ledger counts: cut off for arrears within the window, or due to be."""

    _attr_translation_key = "cutoffs_last_hour"
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(
        self, guard: LedgerGuard, unique_id_prefix: str, device_info: DeviceInfo | None
    ) -> None:
        """Create the count sensor; unique id `<prefix>_cutoffs_last_hour`."""
        super().__init__(
            guard,
            entity_id=CUTOFFS_SENSOR_ENTITY_ID,
            unique_id=f"{unique_id_prefix}_cutoffs_last_hour",
            device_info=device_info,
        )

    @property
    def native_value(self) -> int | None:
        return None if self._guard.state is None else self._guard.state.count


class CutoffGuardBinarySensor(_GuardEntity, BinarySensorEntity):
    """On (a problem) while further cut-offs wait for the landlord's approval."""

    _attr_translation_key = "cutoff_guard"
    _attr_device_class = BinarySensorDeviceClass.PROBLEM

    def __init__(
        self, guard: LedgerGuard, unique_id_prefix: str, device_info: DeviceInfo | None
    ) -> None:
        """Create the guard sensor; unique id `<prefix>_cutoff_guard`."""
        super().__init__(
            guard,
            entity_id=GUARD_BINARY_SENSOR_ENTITY_ID,
            unique_id=f"{unique_id_prefix}_cutoff_guard",
            device_info=device_info,
        )

    @property
    def is_on(self) -> bool | None:
        return None if self._guard.state is None else self._guard.state.holding
