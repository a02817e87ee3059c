"""Ledger fixtures: a started service on a temporary SQLite file, its API and a building."""

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
import io
from pathlib import Path
import tempfile
from typing import Any
import uuid

from aiohttp.test_utils import TestClient, TestServer
from pypdf import PdfReader
import pytest
import sqlalchemy as sa

from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.db.engine import default_url
from tenant_ledger.mqtt import BrokerSettings
from tenant_ledger.service import LedgerService

from . import postgres
from .postgres import PostgresServer

ADMIN_TOKEN = "test-admin-token"
# 2026-11-10 12:00 UTC: mid-month, so billing periods start on 2026-11-01.
START_US = int(datetime(2026, 11, 10, 12, tzinfo=UTC).timestamp()) * 1_000_000
FLAT_TARIFF = {
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "energy": {"type": "flat", "rate": "0.30"},
}


def pdf_text(pdf: bytes) -> str:
    """The text a reader copies out of ``pdf`` (every page)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


class FakeClock:
    """The service's clock, moved by the test."""

    def __init__(self, now_us: int = START_US) -> None:
        self.now_us = now_us

    def __call__(self) -> int:
        return self.now_us

    def advance(self, seconds: int) -> None:
        self.now_us += seconds * 1_000_000

    @property
    def epoch(self) -> int:
        return self.now_us // 1_000_000


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; skipped where PostgreSQL is not installed.

    Its directory is directly under /tmp: pytest's own temporary directories are private to
    the user running the tests, which the server (user ``postgres`` under root) cannot enter.
    """
    if not postgres.available():
        pytest.skip("PostgreSQL is not installed")
    with (
        tempfile.TemporaryDirectory(prefix="ledger-postgres-") as work_dir,
        PostgresServer(Path(work_dir)) as server,
    ):
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return postgres_server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, make_config: Callable[..., LedgerConfig]) -> str:
    """The ledger's database, once SQLite in the data directory, once PostgreSQL."""
    if request.param == "sqlite":
        return make_config().database_url
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., LedgerConfig]:
    def make(broker: BrokerSettings | None = None, **overrides: Any) -> LedgerConfig:
        data_dir = tmp_path / "ledger"
        data_dir.mkdir(exist_ok=True)
        settings: dict[str, Any] = {
            "data_dir": data_dir,
            "database_url": default_url(data_dir),
            "broker": broker,
            "timezone": "Europe/Berlin",
            "admin_token": ADMIN_TOKEN,
            "tick_seconds": 3600,
        }
        return LedgerConfig(**(settings | overrides))

    return make


@pytest.fixture
async def ledger(
    make_config: Callable[..., LedgerConfig], clock: FakeClock
) -> AsyncIterator[LedgerService]:
    service = LedgerService(make_config(), clock=clock)
    await service.start()
    yield service
    await service.stop()


@dataclass
class Api:
    """The API client with the admin token, plus helpers that set a building up."""

    client: TestClient[Any, Any]
    token: str = ADMIN_TOKEN

    def _headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        expect: int | None = None,
    ) -> Any:
        reply = await self.client.request(method, path, json=body, headers=self._headers(token))
        data = await reply.json()
        if expect is not None:
            assert reply.status == expect, (reply.status, data)
        return data

    async def building(
        self,
        *,
        tenants: dict[str, str],
        plan: dict[str, Any] | None = None,
        at: str = "2026-11-01T00:00:00+01:00",
    ) -> None:
        """A flat 0.30 EUR/kWh tariff, one plan, and per tenant one point ``tenant -> point``."""
        await self.call(
            "POST",
            "/api/tariffs/std/versions",
            {
                "tariff": FLAT_TARIFF,
                "effective_from": "2026-01-01T00:00:00+01:00",
                "reason": "setup",
            },
            expect=201,
        )
        await self.call(
            "POST",
            "/api/plans",
            {"id": "main", "name": "Main", "kind": "prepaid", "tariff": "std", **(plan or {})},
            expect=201,
        )
        for tenant_id, point in tenants.items():
            await self.call(
                "POST",
                "/api/tenants",
                {"id": tenant_id, "name": f"Room {tenant_id}", "plan": "main"},
                expect=201,
            )
            await self.call("POST", "/api/points", {"id": point, "name": point}, expect=201)
            await self.call(
                "POST",
                f"/api/tenants/{tenant_id}/move-in",
                {"points": [point], "at": at},
                expect=201,
            )


@pytest.fixture
async def api(ledger: LedgerService, socket_enabled: None) -> AsyncIterator[Api]:
    async with TestClient(TestServer(create_app(ledger, check_answers=True))) as client:
        yield Api(client)
