"""The entity that shows each channel field, so a state message writes only what changed.

A state message usually changes a few of a breaker's many fields (voltage wobbles, the
relay and frequency stay put); waking every entity of the device to write an unchanged
state would cost most of the message's handling. The hub has the entities of the fields
that changed write, found directly by unique id; events that touch every entity of a device
(availability, a re-announcement, a relay command) still go through its dispatcher signal.
"""

from homeassistant.core import CALLBACK_TYPE, callback


class StateWriters:
    """``async_write_ha_state`` of each channel entity in HA, by unique id."""

    def __init__(self) -> None:
        self._writers: dict[str, CALLBACK_TYPE] = {}

    @callback
    def add(self, unique_id: str, write: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Register an entity's writer; returns what removes it again."""
        self._writers[unique_id] = write

        @callback
        def _remove() -> None:
            if self._writers.get(unique_id) is write:
                del self._writers[unique_id]

        return _remove

    def get(self, unique_id: str) -> CALLBACK_TYPE | None:
        """The entity's writer; None while it is not in HA (being added, or disabled)."""
        return self._writers.get(unique_id)
