"""Arrears → cut-off after the grace period, not in quiet hours, never for an exempt tenant,
and the mass-disconnection guard: the ledger decides, HA's blueprint carries it out.

Real broker, real ledger subprocess (its clock moved by the test: harness.Ledger.travel; its
quiet hours and guard set by ``serve`` options), HA with the integration and one arrears
cut-off automation per tenant; simulated breaker.
"""

import asyncio
from datetime import timedelta

from homeassistant.core import HomeAssistant
import pytest

from tenant_sim.mosquitto import MosquittoBroker

from .harness import (
    E2E_NOW,
    Blueprints,
    Ledger,
    first_state,
    quiet_fleet,
    send,
    state,
    tenant_device,
    until,
)

pytestmark = pytest.mark.slow

DAY = 86_400
# The ledger's quiet hours (UTC, its zone here): from an hour before the grace period ends
# until 30 minutes after it, so a cut-off due at the end of the grace waits for their end.
_DUE = E2E_NOW + timedelta(days=1)
QUIET = f"{(_DUE - timedelta(hours=1)):%H:%M}-{(_DUE + timedelta(minutes=30)):%H:%M}"


@pytest.fixture
def ledger_args() -> list[str]:
    return ["--quiet-hours", QUIET, "--cutoff-guard-limit", "1"]


async def test_arrears_cut_off_after_grace_outside_quiet_hours_never_exempt_guarded(
    hass: HomeAssistant,
    mosquitto: MosquittoBroker,
    ledger: Ledger,
    metering: None,
    blueprints: Blueprints,
) -> None:
    fleet = quiet_fleet(mosquitto, channels=3)
    breaker = fleet.breakers[0]
    relays = {number: breaker.channels[index] for index, number in enumerate(("101", "102", "103"))}
    await ledger.building(
        {f"t{n}": f"mqtt:{breaker.device_id}:{index + 1}" for index, n in enumerate(relays)},
        grace_days=1,
    )
    await blueprints.arrears_cutoff({number: {} for number in relays})
    try:
        await hass.async_add_executor_job(fleet.connect)
        await until(lambda: state(hass, "sensor.tenant_103_status") == "low", "ledger states")
        await hass.services.async_call(
            "tenant_metering",
            "set_exemption",
            {"device_id": tenant_device(hass, "t102"), "exempt": True, "reason": "medical"},
            blocking=True,
        )
        await until(lambda: state(hass, "sensor.tenant_102_status") == "exempt", "exemption")

        # 10 kWh each at 0.30 EUR, nothing paid: -3.00 EUR, beyond the credit limit of 0.
        now = ledger.now()
        start = {"1": 1_000_000, "2": 1_000_000, "3": 1_000_000}
        await first_state(hass, breaker, now - 3600, start)
        send(breaker, now - 60, {"1": 1_010_000, "2": 1_010_000, "3": 1_010_000})
        await until(
            lambda: all(state(hass, f"sensor.tenant_{n}_balance") == "-3.00" for n in relays),
            "bills",
        )
        # HA told the ledger every supply it sees (on), so a cut-off can be decided at all.
        for number in relays:
            tenant = await ledger.call("GET", f"/api/tenants/t{number}")
            assert tenant["supply"]["state"] == "on"
        assert (
            "cut-off not before" in (await ledger.call("GET", "/api/tenants/t101"))["status_reason"]
        )

        # Half-way through the grace period nothing changes.
        ledger.travel(DAY // 2)
        await asyncio.sleep(5 * 0.3)
        assert (await ledger.call("GET", "/api/tenants/t101"))["status"] == "arrears"
        assert all(channel.relay_on for channel in relays.values())

        # Grace over, but quiet hours: nobody is cut.
        ledger.travel(DAY + 60)
        await until(
            lambda: "quiet hours" in str(hass.states.get("sensor.tenant_101_status")),
            "quiet hours in the ledger's reason",
        )
        await asyncio.sleep(5 * 0.3)
        assert all(channel.relay_on for channel in relays.values())

        # Quiet hours over: one tenant is cut; the guard (limit 1) holds the other; 102 exempt.
        ledger.travel(DAY + 45 * 60)
        await until(
            lambda: sum(not relays[n].relay_on for n in ("101", "103")) == 1, "one cut-off", 20
        )
        cut, held = ("101", "103") if not relays["101"].relay_on else ("103", "101")
        await until(lambda: state(hass, f"switch.tenant_{cut}_supply") == "off", "supply off")
        await until(
            lambda: state(hass, f"sensor.tenant_{cut}_status") == "disconnected", "disconnected"
        )
        record = await ledger.call("GET", f"/api/tenants/t{cut}")
        assert (record["supply"]["state"], record["supply"]["cause"]) == ("off", "arrears")
        waiting = await ledger.call("GET", f"/api/tenants/t{held}")
        assert (waiting["status"], waiting["cutoff_awaiting_approval"]) == ("arrears", True)
        assert relays[held].relay_on
        assert relays["102"].relay_on
        assert state(hass, "sensor.tenant_102_status") == "exempt"
        await until(
            lambda: (
                f"Cut-off needs approval: Tenant {held}"
                in [c.data["title"] for c in blueprints.landlord]
            ),
            "the approval request",
        )

        # The landlord approves (the notification's button calls this action): cut.
        await hass.services.async_call(
            "tenant_metering",
            "approve_cutoff",
            {"device_id": tenant_device(hass, f"t{held}"), "reason": "checked the meter"},
            blocking=True,
        )
        await until(lambda: not relays[held].relay_on, "the approved cut-off")
        await until(
            lambda: (
                f"Supply cut off: Tenant {held}" in [c.data["title"] for c in blueprints.landlord]
            ),
            "the landlord told",
        )
        titles = [call.data["title"] for call in blueprints.landlord]
        assert titles.count(f"Supply cut off: Tenant {cut}") == 1
        assert titles.count(f"Supply cut off: Tenant {held}") == 1
        assert not any("Tenant 102" in title for title in titles)
        assert relays["102"].relay_on
    finally:
        await hass.async_add_executor_job(fleet.close)
