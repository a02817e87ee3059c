"""Cut-off and top-up restore end to end with the broker set up as docs/integration.md
recommends for supply control (``set_tcp_nodelay true``).

How fast a restore is, and whether a hop waits for a delayed ACK, is measured in
bench/bench_e2e.py, not asserted here (a timed test is flaky on a loaded machine); the QoS 0
subscription that keeps HA from sending a PUBACK on the way is checked directly in
tests/integration/test_ledger_link.py.
"""

from collections.abc import Iterator
from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest

from tenant_sim.mosquitto import MosquittoBroker

from .harness import (
    Blueprints,
    Ledger,
    RestoreTimer,
    cut_off_and_restore,
    first_state,
    quiet_fleet,
    state,
    tenant_device,
    until,
)

pytestmark = pytest.mark.slow

ROUNDS = 3


@pytest.fixture
def mosquitto(tmp_path: Path, socket_enabled: None) -> Iterator[MosquittoBroker]:
    """The broker with ``set_tcp_nodelay true``."""
    with MosquittoBroker(tmp_path / "mosquitto", tcp_nodelay=True) as broker:
        yield broker


async def test_cut_offs_and_restores_go_through_a_nodelay_broker(
    hass: HomeAssistant,
    mosquitto: MosquittoBroker,
    ledger: Ledger,
    metering: None,
    blueprints: Blueprints,
) -> None:
    fleet = quiet_fleet(mosquitto, channels=1)
    breaker = fleet.breakers[0]
    await ledger.building({"t101": f"mqtt:{breaker.device_id}:1"}, grace_days=0)
    await blueprints.arrears_cutoff({"101": {}})
    timer = RestoreTimer(hass, "101", breaker.channels[0])
    try:
        await hass.async_add_executor_job(fleet.connect)
        await until(lambda: state(hass, timer.relay) is not None, "discovery")
        await until(lambda: state(hass, timer.status) is not None, "the ledger's state")
        await first_state(hass, breaker, ledger.now(), {"1": 1_000_000})
        await until(lambda: state(hass, timer.relay) == "on", "the relay's state")
        device_id = tenant_device(hass, "t101")

        # Each round: cut off by the blueprint, restored by a top-up, HA shows the relay on.
        rounds = [await cut_off_and_restore(hass, ledger, timer, device_id) for _ in range(ROUNDS)]
        assert breaker.channels[0].relay_on
        assert state(hass, "switch.tenant_101_supply") == "on"
        assert state(hass, timer.status) != "disconnected"
    finally:
        timer.stop()
        await hass.async_add_executor_job(fleet.close)

    # In order, every round: the ledger's decision, then the breaker switching, then HA seeing it.
    assert all(min(hops.decision_ms, hops.command_ms, hops.ack_ms) >= 0 for hops in rounds), rounds
