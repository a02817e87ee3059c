"""REST client for the Tenant Metering Ledger add-on (docs/ledger-contract.md), no HA.

Amounts travel as decimal strings; the client never turns money into floats.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
import json
from typing import Any, Final, Literal, get_args
from urllib.parse import quote, urlencode

import aiohttp

from ..resources import Resource

REQUEST_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
READINGS_PAGE: Final = 10_000
"""The most readings the ledger answers at once (its `limit` maximum)."""

# JSON numbers with a fraction become Decimal, never float (and are then refused as money:
# the contract sends amounts as strings).
loads_json: Final = partial(json.loads, parse_float=Decimal)


class LedgerError(Exception):
    """Any failure talking to the ledger."""


class LedgerConnectionError(LedgerError):
    """The ledger could not be reached or answered garbage."""


class LedgerAuthError(LedgerError):
    """The ledger refused the token."""


ALREADY_POSTED: Final = "already_posted"
"""The ledger's answer to a retried money posting: it names the entry it made the first time."""


class LedgerRequestError(LedgerError):
    """The ledger refused the request (4xx with an error body)."""

    def __init__(
        self, status: int, code: str, message: str, entry_id: int | str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.entry_id = entry_id


@dataclass(frozen=True, kw_only=True)
class BalanceChange:
    """The ledger's answer to a top-up or adjustment."""

    entry_id: str
    balance: Decimal


class LedgerClient:
    """The calls the integration makes; one instance per ledger link."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self._session = session
        self.url = url.rstrip("/")
        self._token = token

    async def _tenant_request(
        self, method: str, tenant_id: str, action: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        data: dict[str, Any] = await self._request(
            method, f"{_tenant_path(tenant_id)}/{action}", body
        )
        return data

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            async with self._session.request(
                method,
                f"{self.url}{path}",
                json=body,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=REQUEST_TIMEOUT,
            ) as response:
                if response.status in (401, 403):
                    raise LedgerAuthError(f"the ledger refused the token ({response.status})")
                try:
                    data = await response.json(content_type=None, loads=loads_json)
                except ValueError as err:
                    raise LedgerConnectionError(
                        f"{method} {path}: not JSON (HTTP {response.status})"
                    ) from err
                if response.status >= 400:
                    error = data.get("error", {}) if isinstance(data, dict) else {}
                    entry_id = error.get("entry_id")
                    raise LedgerRequestError(
                        response.status,
                        str(error.get("code", "error")),
                        str(error.get("message", f"HTTP {response.status}")),
                        entry_id if isinstance(entry_id, int | str) else None,
                    )
                return data
        except (aiohttp.ClientError, TimeoutError) as err:
            raise LedgerConnectionError(f"{method} {path}: {err!r}") from err

    async def health(self) -> dict[str, Any]:
        data = await self._request("GET", "/api/health")
        if not isinstance(data, dict):
            raise LedgerConnectionError("unexpected health answer")
        return data

    async def tenants(self) -> list[dict[str, Any]]:
        """All tenants' state objects (also validates the token)."""
        data = await self._request("GET", "/api/tenants")
        tenants = data.get("tenants") if isinstance(data, dict) else None
        if not isinstance(tenants, list):
            raise LedgerConnectionError("unexpected tenants answer")
        return [tenant for tenant in tenants if isinstance(tenant, dict)]

    async def point_ids(self) -> list[str]:
        """The ids of the ledger's metering points."""
        data = await self._request("GET", "/api/points")
        points = data.get("points") if isinstance(data, dict) else None
        if not isinstance(points, list):
            raise LedgerConnectionError("unexpected points answer")
        return [point["id"] for point in points if isinstance(point, dict) and _text(point, "id")]

    async def readings(self, point_id: str, *, since: int, until: int) -> list[tuple[int, int]]:
        """``(ts, energy_wh)`` of the point's readings in [since, until] (epoch seconds), oldest
        first, fetched a page at a time."""
        found: list[tuple[int, int]] = []
        while True:
            query = urlencode(
                {"point": point_id, "since": since, "until": until, "limit": READINGS_PAGE}
            )
            data = await self._request("GET", f"/api/readings?{query}")
            rows = data.get("readings") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise LedgerConnectionError("unexpected readings answer")
            page = [
                (row["ts"], row["energy_wh"])
                for row in rows
                if isinstance(row, dict)
                and type(row.get("ts")) is int
                and type(row.get("energy_wh")) is int
            ]
            found += page
            if len(rows) < READINGS_PAGE or not page:
                return found
            since = page[-1][0] + 1

    async def _balance_change(
        self, tenant_id: str, kind: str, amount: str, reason: str, *, actor: str | None, ref: str
    ) -> BalanceChange:
        """Post once: ``ref`` makes a retry (ours after a timeout, or the caller's) safe."""
        tenant_path = _tenant_path(tenant_id)
        body = _action(actor, amount=amount, reason=reason, ref=ref)
        try:
            try:
                data = await self._request("POST", f"{tenant_path}/{kind}", body)
            except LedgerConnectionError:
                # The first try may have been posted before the answer was lost: the same ref
                # again posts nothing twice.
                data = await self._request("POST", f"{tenant_path}/{kind}", body)
        except LedgerRequestError as err:
            if err.code != ALREADY_POSTED or err.entry_id is None:
                raise
            # Posted by an earlier try: that entry is the answer, with today's balance.
            data = {"entry_id": err.entry_id} | {
                "balance": (await self._request("GET", tenant_path)).get("balance")
            }
        try:
            balance = _decimal(data, "balance")
            if balance is None:
                raise ValueError("'balance' is missing")
            return BalanceChange(entry_id=str(data["entry_id"]), balance=balance)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise LedgerConnectionError(f"unexpected answer to {kind}: {err}") from err

    async def top_up(
        self, tenant_id: str, amount: str, reason: str, actor: str | None, *, ref: str
    ) -> BalanceChange:
        """Money paid in: ``amount`` is decimal text in the ledger's grammar ("10.00")."""
        return await self._balance_change(tenant_id, "topups", amount, reason, actor=actor, ref=ref)

    async def adjust(
        self, tenant_id: str, amount: str, reason: str, actor: str | None, *, ref: str
    ) -> BalanceChange:
        return await self._balance_change(
            tenant_id, "adjustments", amount, reason, actor=actor, ref=ref
        )

    async def set_exemption(
        self,
        tenant_id: str,
        *,
        exempt: bool,
        reason: str,
        until: datetime | None,
        actor: str | None,
    ) -> dict[str, Any]:
        until_text = until.isoformat() if until else None
        body = _action(actor, exempt=exempt, reason=reason, until=until_text)
        return await self._tenant_request("PUT", tenant_id, "exemption", body)

    async def approve_cutoff(
        self, tenant_id: str, *, reason: str, actor: str | None
    ) -> dict[str, Any]:
        body = _action(actor, reason=reason)
        return await self._tenant_request("POST", tenant_id, "cutoff-approvals", body)

    async def report_supply(
        self, tenant_id: str, *, off: bool, cause: str | None, reason: str, actor: str | None
    ) -> dict[str, Any]:
        """Tell the ledger the tenant's supply as HA sees it (the same state again: a no-op)."""
        body = _action(actor, supply="off" if off else "on", reason=reason)
        if cause is not None:
            body["cause"] = cause
        return await self._tenant_request("POST", tenant_id, "supply", body)


# The ledger's supply decision for a tenant; anything else it sends is read as "none".
type SupplyAction = Literal["cut", "restore", "none"]
SUPPLY_ACTIONS: Final[frozenset[str]] = frozenset(get_args(SupplyAction.__value__))


@dataclass(frozen=True, kw_only=True)
class ResourceFigures:
    """One resource of a tenant in the period so far, in its billing unit (kWh or m³)."""

    billed: bool
    period_usage: Decimal | None
    period_cost: Decimal | None
    quota: Decimal | None
    quota_remaining: Decimal | None
    quota_exhausted: bool | None = None
    """The allowance is used up; None: no quota (or an older ledger). Only electricity's makes
    the status ``quota_exhausted``: another resource's is named in the status reason."""


@dataclass(frozen=True, kw_only=True)
class TenantState:
    """A tenant as the ledger publishes it (retained MQTT state or ``GET /api/tenants``)."""

    tenant_id: str
    name: str
    currency: str | None
    balance: Decimal | None
    status: str | None
    status_reason: str | None
    status_since: datetime | None
    plan: str | None
    period_start: datetime | None
    period_energy_kwh: Decimal | None
    period_cost: Decimal | None
    quota_kwh: Decimal | None
    quota_remaining_kwh: Decimal | None
    points: tuple[str, ...]
    cutoff_approved: bool
    updated_at: datetime | None
    resources: dict[Resource, ResourceFigures] = field(default_factory=dict)
    """Per resource (absent from older ledgers: empty); names this version knows only."""
    ha_user_ids: tuple[str, ...] = ()  # HA users linked to the tenant (personal data)
    # Supply control (docs/ledger-contract.md): the ledger's decision and what it knows.
    supply_action: SupplyAction = "none"
    supply_off: bool | None = None  # as last reported to the ledger; None: never reported
    supply_cause: str | None = None  # arrears / landlord / safety when off
    cutoff_awaiting_approval: bool = False


def _decimal(data: dict[str, Any], key: str) -> Decimal | None:
    """A decimal string (or a whole number); floats and booleans are refused."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key!r} must be a decimal string, not {value!r}")
    try:
        number = Decimal(value)
    except (ArithmeticError, TypeError, ValueError) as err:
        raise ValueError(f"{key!r} is not a decimal: {value!r}") from err
    if not number.is_finite():
        raise ValueError(f"{key!r} is not finite")
    return number


def _datetime(data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key!r} is not a timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{key!r} has no time zone")
    return parsed


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _strings(data: dict[str, Any], key: str) -> list[str]:
    """An optional list of strings (absent or null: empty)."""
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{key!r} must be a list of strings")
    return value


def _resources(data: dict[str, Any]) -> dict[Resource, ResourceFigures]:
    """The ``resources`` map; a resource this version does not know is left out, not guessed."""
    value = data.get("resources") or {}
    if not isinstance(value, dict):
        raise ValueError("'resources' must be an object")
    found: dict[Resource, ResourceFigures] = {}
    for name, figures in value.items():
        if not isinstance(figures, dict):
            raise ValueError(f"resource {name!r} must be an object")
        if name not in Resource:
            continue
        found[Resource(name)] = ResourceFigures(
            billed=figures.get("billed") is True,
            period_usage=_decimal(figures, "period_usage"),
            period_cost=_decimal(figures, "period_cost"),
            quota=_decimal(figures, "quota"),
            quota_remaining=_decimal(figures, "quota_remaining"),
            quota_exhausted=_optional_flag(figures, "quota_exhausted"),
        )
    return found


def _optional_flag(data: dict[str, Any], key: str) -> bool | None:
    """true, false, or null/absent (None); anything else is refused."""
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{key!r} must be true, false or null, not {value!r}")
    return value


def parse_tenant_state(data: Any) -> TenantState:
    """Parse a tenant state object; raises ValueError on anything malformed."""
    if not isinstance(data, dict):
        raise ValueError("tenant state must be an object")
    tenant_id = data.get("tenant_id")
    if not isinstance(tenant_id, str) or not tenant_id:
        raise ValueError("'tenant_id' must be a non-empty string")
    points = _strings(data, "points")
    ha_user_ids = _strings(data, "ha_user_ids")
    supply = data.get("supply")
    if supply is not None and not isinstance(supply, dict):
        raise ValueError("'supply' must be an object or null")
    supply_state = None if supply is None else _optional_text(supply, "state")
    action = data.get("supply_action")
    return TenantState(
        tenant_id=tenant_id,
        name=_optional_text(data, "name") or tenant_id,
        currency=_optional_text(data, "currency"),
        balance=_decimal(data, "balance"),
        status=_optional_text(data, "status"),
        status_reason=_optional_text(data, "status_reason"),
        status_since=_datetime(data, "status_since"),
        plan=_optional_text(data, "plan"),
        period_start=_datetime(data, "period_start"),
        period_energy_kwh=_decimal(data, "period_energy_kwh"),
        period_cost=_decimal(data, "period_cost"),
        quota_kwh=_decimal(data, "quota_kwh"),
        quota_remaining_kwh=_decimal(data, "quota_remaining_kwh"),
        points=tuple(points),
        cutoff_approved=data.get("cutoff_approved") is True,
        updated_at=_datetime(data, "updated_at"),
        resources=_resources(data),
        ha_user_ids=tuple(ha_user_ids),
        # Fail safe: only the exact words act; anything else does nothing.
        supply_action=action if action in SUPPLY_ACTIONS else "none",
        supply_off=None if supply_state not in ("on", "off") else supply_state == "off",
        supply_cause=None if supply is None else _optional_text(supply, "cause"),
        cutoff_awaiting_approval=data.get("cutoff_awaiting_approval") is True,
    )


def _tenant_path(tenant_id: str) -> str:
    return f"/api/tenants/{quote(tenant_id, safe='')}"


def _action(actor: str | None, **fields: Any) -> dict[str, Any]:
    """A request body for an action, naming the HA user who asked when there is one."""
    return fields | ({"actor": actor} if actor else {})


def _text(data: dict[str, Any], key: str) -> bool:
    return isinstance(data.get(key), str) and bool(data[key])
