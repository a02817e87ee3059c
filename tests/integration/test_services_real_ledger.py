"""The top_up and adjust actions against a real ledger process: a retried call posts once.

The fake ledger proves the retry after a lost answer; this proves the real ledger takes the
references the integration makes and answers a repeat with the entry it already posted.
"""

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from unittest.mock import MagicMock

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest

from custom_components.tenant_metering.const import DOMAIN
from tenant_sim.clock import SimClock
from tenant_sim.ledger_process import LedgerProcess

from .common import find_device
from .test_ledger_link import setup_ledger

TOKEN = "secret-token"  # the token of tests.integration.common.ledger_entry
TARIFF = {
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "energy": {"type": "flat", "rate": "0.30"},
}


@pytest.fixture
async def ledger(
    hass: HomeAssistant, tmp_path: Path, socket_enabled: None
) -> AsyncIterator[LedgerProcess]:
    process = LedgerProcess(
        tmp_path / "ledger",
        admin_token=TOKEN,
        args=["--timezone", "Europe/Berlin"],
        clock=SimClock.at("2026-11-10T12:00:00+00:00"),
    )
    await hass.async_add_executor_job(process.start)
    async with process.api() as api:
        version = {"tariff": TARIFF, "effective_from": "2026-01-01T00:00:00+01:00", "reason": "x"}
        await api.call("POST", "/api/tariffs/std/versions", version)
        plan = {"id": "p", "name": "P", "kind": "prepaid", "tariff": "std"}
        await api.call("POST", "/api/plans", plan)
        await api.call("POST", "/api/tenants", {"id": "t101", "name": "Room 101", "plan": "p"})
    yield process
    await hass.async_add_executor_job(process.stop)


async def _balance(ledger: LedgerProcess) -> Decimal:
    async with ledger.api() as api:
        return Decimal((await api.call("GET", "/api/tenants/t101"))["balance"])


async def test_a_retried_action_posts_once_on_the_real_ledger(
    hass: HomeAssistant, mqtt_mock: MagicMock, ledger: LedgerProcess
) -> None:
    await setup_ledger(hass, ledger)  # type: ignore[arg-type]  # has the url a FakeLedger has
    device = find_device(hass, "tenant_t101")
    assert device is not None
    context = Context()
    data = {"device_id": device.id, "amount": "7.50", "reason": "cash at desk"}
    answers = [
        await hass.services.async_call(
            DOMAIN, "top_up", data, blocking=True, return_response=True, context=context
        )
        for _ in range(2)
    ]
    first = answers[0]
    assert first is not None
    assert answers[1] == first == {"entry_id": first["entry_id"], "balance": "7.50"}
    assert await _balance(ledger) == Decimal("7.50")
    # The ledger, not the integration, judges decimals; its words reach the user.
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            DOMAIN, "adjust", data | {"amount": "-1.005"}, blocking=True, context=context
        )
    assert "more decimals than EUR allows (2)" in str(refused.value)
    assert await _balance(ledger) == Decimal("7.50")
