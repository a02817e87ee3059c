"""The coordinator of a Modbus gateway: polls its meters in turn, publishes each poll."""

from datetime import timedelta
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from ...const import DEFAULT_SCAN_INTERVAL, DOMAIN
from .core import MeterReading

if TYPE_CHECKING:
    from .gateway import ModbusGateway

_LOGGER = logging.getLogger(__name__)


class ModbusCoordinator(DataUpdateCoordinator[dict[str, MeterReading]]):
    """Polls every meter of one gateway in turn; data is the last reading per subentry id."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], gateway: "ModbusGateway"
    ) -> None:
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=timedelta(
                seconds=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
            ),
        )
        self.gateway = gateway

    async def _async_update_data(self) -> dict[str, MeterReading]:
        gateway = self.gateway
        readings = {sub_id: await m.poller.poll() for sub_id, m in gateway.meters.items()}
        if (
            readings
            and not gateway.bus.connected
            and not any(reading.available for reading in readings.values())
        ):
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="gateway_unreachable",
                translation_placeholders={"gateway": self.config_entry_title},
            )
        gateway.publish(readings)
        return readings

    @property
    def config_entry_title(self) -> str:
        return self.config_entry.title if self.config_entry else ""
