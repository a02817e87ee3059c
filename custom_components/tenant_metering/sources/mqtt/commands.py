"""Relay commands to a breaker: publish, then wait for its ack (``{base}/command``, ``/ack``).

The channel's relay state changes only from what the device confirms (the ack here, or its
next state message), so a lost command never shows a state that isn't true.
"""

import asyncio
import uuid

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from ...const import ACK_TIMEOUT, DOMAIN, RelayState
from . import protocol
from .breaker import Breaker
from .protocol import Ack


async def async_send_relay(
    hass: HomeAssistant, breaker: Breaker, channel_id: str, relay: RelayState
) -> RelayState:
    """Send a relay command; returns the relay as the breaker confirmed it.

    Raises HomeAssistantError when the breaker refuses or does not answer in time.
    """
    command_id = str(uuid.uuid4())
    future: asyncio.Future[Ack] = hass.loop.create_future()
    breaker.pending[command_id] = future
    placeholders = {
        "name": breaker.config.name,
        "channel": breaker.channel_name(channel_id),
        "relay": relay,
    }
    try:
        await mqtt.async_publish(
            hass,
            f"{breaker.config.base_topic}/command",
            protocol.command_payload(command_id, channel_id, relay),
            1,
            False,
        )
        async with asyncio.timeout(ACK_TIMEOUT):
            ack = await future
    except TimeoutError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_timeout",
            translation_placeholders={**placeholders, "timeout": f"{ACK_TIMEOUT:g}"},
        ) from err
    finally:
        breaker.pending.pop(command_id, None)
    if not ack.ok:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_rejected",
            translation_placeholders={**placeholders, "error": ack.error or "unknown"},
        )
    return ack.relay or relay


@callback
def resolve(breaker: Breaker, ack: Ack) -> None:
    """Hand an ack to the command waiting for it (late or unknown acks are dropped)."""
    future = breaker.pending.pop(ack.id, None)
    if future is not None and not future.done():
        future.set_result(ack)


@callback
def fail_pending(breaker: Breaker) -> None:
    """Commands in flight fail like any unconfirmed command (the caller and the
    command-failed event learn about it), never as a bare cancellation."""
    for future in breaker.pending.values():
        if not future.done():
            future.set_exception(
                HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="device_removed",
                    translation_placeholders={"name": breaker.config.name},
                )
            )
    breaker.pending.clear()
