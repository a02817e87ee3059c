"""What every config entry's runtime offers, whatever it is: one protocol, no switches on kind.

Four kinds of entries share this domain (``entry.data["kind"]``): the MQTT breaker hub, the
ledger link, Modbus gateways and adopted HA sensors. ``__init__.py`` maps each kind to its
runtime class; setup, unload, platforms, diagnostics, device removal and the energy
dashboard only talk to this protocol.
"""

from collections.abc import Callable, Coroutine
from typing import Any, Protocol, Self

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .energy import EnergyDevice


class SourceRuntime(Protocol):
    """The runtime of one config entry (``entry.runtime_data``)."""

    platforms: tuple[Platform, ...]
    """The entity platforms it has entities on (none for an adopted sensor)."""

    @classmethod
    async def async_create(cls, hass: HomeAssistant, entry: ConfigEntry[Any]) -> Self:
        """Build the runtime from the entry; restores what it keeps across restarts."""
        ...

    async def async_prepare(self) -> None:
        """Before the platforms are set up: what they need (may raise ConfigEntryNotReady)."""
        ...

    async def async_start(self) -> None:
        """Once the platforms listen: subscribe, so the first announcements find them."""
        ...

    def async_stop(self) -> Coroutine[Any, Any, None] | None:
        """At unload: unsubscribe, close connections, store what must survive a reload."""
        ...

    def async_add_platform_entities(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add the platform's entities now and whenever new ones appear."""
        ...

    def known_device_identifiers(self) -> set[str]:
        """Identifiers (of this domain) of every device something still announces or
        configures; the user may delete the others."""
        ...

    def diagnostics(self) -> dict[str, Any]:
        """What the runtime knows, for the diagnostics download (before redaction)."""
        ...

    def energy_devices(self) -> list[EnergyDevice]:
        """Its energy sensors as individual devices of the energy dashboard (incomers
        first: they are the upstream of the others)."""
        ...


type TenantMeteringConfigEntry = ConfigEntry[SourceRuntime]


def loaded_runtimes[RuntimeT](hass: HomeAssistant, runtime_class: type[RuntimeT]) -> list[RuntimeT]:
    """The loaded runtimes of one class, for what only one kind of entry can do (the ledger
    link's services, an adopted sensor's switch)."""
    return [
        entry.runtime_data
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED and isinstance(entry.runtime_data, runtime_class)
    ]


type PlatformSetup = Callable[
    [HomeAssistant, TenantMeteringConfigEntry, AddConfigEntryEntitiesCallback],
    Coroutine[Any, Any, None],
]


def platform_setup(platform: Platform) -> PlatformSetup:
    """A platform module's ``async_setup_entry``: the entry's runtime adds its entities."""

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: TenantMeteringConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        entry.runtime_data.async_add_platform_entities(platform, async_add_entities)

    return async_setup_entry
