"""The ledger as a real subprocess (``python -m tenant_ledger serve``) for crash tests."""

import asyncio
from pathlib import Path
from typing import Any

from tenant_sim import ledger_process
from tenant_sim.clock import SimClock
from tenant_sim.ledger_process import REPO_ROOT
from tenant_sim.net import free_port

__all__ = ["REPO_ROOT", "LedgerProcess"]

TOKEN = "process-admin-token"


class LedgerProcess(ledger_process.LedgerProcess):
    """Europe/Berlin, ``extra`` ``serve`` options, its log next to the data directory, its
    clock ``clock`` (``serve --now``); its API called synchronously (the tests using it are
    not async)."""

    def __init__(
        self,
        data_dir: Path,
        *extra: str,
        env: dict[str, str] | None = None,
        clock: SimClock | None = None,
    ) -> None:
        port = free_port()
        super().__init__(
            data_dir,
            admin_token=TOKEN,
            port=port,
            args=["--timezone", "Europe/Berlin", *extra],
            env=env,
            log_path=data_dir.parent / f"ledger-{port}.log",
            clock=clock,
        )

    def call(self, method: str, path: str, body: Any = None, token: str = TOKEN) -> Any:
        async def once() -> Any:
            async with self.api(token) as api:
                return await api.call(method, path, body)

        return asyncio.run(once())


def add_prepaid_tenant(process: LedgerProcess, tariff: dict[str, Any]) -> None:
    """Tariff ``std`` (``tariff``), prepaid plan ``p`` and tenant ``t1``, through the API."""
    process.call(
        "POST",
        "/api/tariffs/std/versions",
        {"tariff": tariff, "effective_from": "2026-01-01T00:00:00+01:00", "reason": "x"},
    )
    process.call("POST", "/api/plans", {"id": "p", "name": "P", "kind": "prepaid", "tariff": "std"})
    process.call("POST", "/api/tenants", {"id": "t1", "name": "Room 1", "plan": "p"})
