"""A write that fails changes nothing: not the database, and not the ledger's memory of it.

An exemption until 9999-12-31T23:59:59-14:00 is stored fine but cannot be evaluated (the end
is past year 9999 in UTC). The ledger used to load the new catalog before that evaluation
failed: the row was rolled back, memory kept the exemption, and that tenant's top-ups and
everyone's statements failed until a restart.
"""

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tenant_ledger import operations as ops, service as service_module, tenant_state
from tenant_ledger.billing.timestamps import to_us
from tenant_ledger.db.catalog import Catalog, load_catalog
from tenant_ledger.service import LedgerService

from .conftest import Api, FakeClock

POINT = "mqtt:a4cf12ab34cd:1"
NOV_5 = 1_793_836_800
DEC_2 = 1_796_176_800_000_000  # 2026-12-02: November's statements are due
LAST_INSTANT = to_us(datetime.fromisoformat("9999-12-31T23:59:59-14:00"))


async def _stored_catalog(ledger: LedgerService) -> Catalog:
    def job(connection: sa.Connection, _catalog: Catalog) -> Catalog:
        return load_catalog(connection)

    return await ledger.read(job)


async def _exempt_until_the_end_of_time(ledger: LedgerService) -> None:
    action = ops.Action(actor="ana", reason="medical", now_us=ledger.clock())
    await ledger.write(
        lambda c, cat: ops.set_exemption(
            c, cat, action, tenant_id="t1", exempt=True, until_us=LAST_INSTANT
        ),
        affects=["t1"],
        catalog_changed=True,
    )


async def test_an_exemption_that_cannot_be_evaluated_changes_neither_database_nor_memory(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    await api.building(tenants={"t1": POINT, "t2": "mqtt:a4cf12ab34cd:2"})
    before = ledger.catalog
    with pytest.raises(OverflowError):
        await _exempt_until_the_end_of_time(ledger)
    assert ledger.catalog is before
    assert ledger.catalog.tenants == (await _stored_catalog(ledger)).tenants
    assert not ledger.catalog.tenants["t1"].exempt
    # Everything that evaluates the tenant still works.
    topup = {"amount": "10.00", "reason": "cash"}
    assert (await api.call("POST", "/api/tenants/t1/topups", topup, expect=201))["balance"] == (
        "10.00"
    )
    body = {
        "readings": [
            {"point": POINT, "ts": NOV_5 + i * 3600, "energy_wh": i * 1000} for i in range(3)
        ]
    }
    await api.call("POST", "/api/readings", body, expect=200)
    clock.now_us = DEC_2
    issued = await api.call("POST", "/api/statements/run", expect=200)
    assert issued["issued_for"] == ["t1", "t2"]


async def test_the_api_refuses_it_and_the_tenant_keeps_working(
    api: Api, ledger: LedgerService
) -> None:
    await api.building(tenants={"t1": POINT})
    reply = await api.client.put(
        "/api/tenants/t1/exemption",
        json={"exempt": True, "reason": "medical", "until": "9999-12-31T23:59:59-14:00"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert reply.status >= 400  # whatever the answer, nothing was exempted
    assert (await api.call("GET", "/api/tenants/t1"))["status"] != "exempt"
    assert not ledger.catalog.tenants["t1"].exempt
    topup = {"amount": "5.00", "reason": "cash"}
    await api.call("POST", "/api/tenants/t1/topups", topup, expect=201)


async def test_any_failure_after_a_catalog_change_rolls_memory_back_with_the_transaction(
    api: Api, ledger: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.building(tenants={"t1": POINT})
    failing = True

    def evaluate_once_failing(*args: Any) -> Any:
        if failing:
            raise RuntimeError("evaluation failed")
        return tenant_state.evaluate_and_record(*args)

    monkeypatch.setattr(service_module, "evaluate_and_record", evaluate_once_failing)
    failed = await api.call(
        "POST", "/api/tenants", {"id": "t9", "name": "Nine", "plan": "main"}, expect=500
    )
    assert failed["error"]["code"] == "internal_error"
    assert "t9" not in ledger.catalog.tenants
    assert ledger.catalog.tenants == (await _stored_catalog(ledger)).tenants
    failing = False
    await api.call("POST", "/api/tenants", {"id": "t9", "name": "Nine", "plan": "main"}, expect=201)
    assert "t9" in ledger.catalog.tenants
