"""Services that act on a tenant's ledger account: top up, adjust, exempt, approve cut-off.

Amounts are never floats on the way to the ledger. They are text (the UI's text selector),
or whole numbers; a YAML number with a fraction is already a binary float when it arrives
(``10.1`` is 10.0999…), so it is refused with a hint to quote it. Text is checked against the
ledger's money grammar (ASCII digits, at most one point, a leading minus) only to give a
friendly error early; the ledger alone judges the amount (its currency's decimals included)
and its refusal is shown as it words it. Every service is for landlords (HA admins) and
automations only.

Top-ups and adjustments are idempotent: each call sends a reference made of its context id
and what it asks for, so a call retried after a timeout posts once (the ledger answers the
retry with the entry it already made).
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
import hashlib
import logging
import re
from typing import Any, Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType
import voluptuous as vol

from .compat import device_config_entry_ids
from .const import DOMAIN
from .dashboard import TenantDashboardInfo, async_publish_dashboards
from .energy import EnergyDevice, async_register_energy_devices
from .identifiers import tenant_id_of, tenant_unique_id
from .ledger_link.backfill import async_backfill_statistics
from .ledger_link.client import LedgerAuthError, LedgerClient, LedgerError, LedgerRequestError
from .ledger_link.link import LedgerLink
from .permissions import async_require_admin
from .runtime import TenantMeteringConfigEntry, loaded_runtimes

ATTR_DEVICE_ID: Final = "device_id"
ATTR_AMOUNT: Final = "amount"
ATTR_REASON: Final = "reason"
ATTR_EXEMPT: Final = "exempt"
ATTR_UNTIL: Final = "until"

SERVICE_TOP_UP: Final = "top_up"
SERVICE_ADJUST: Final = "adjust"
SERVICE_SET_EXEMPTION: Final = "set_exemption"
SERVICE_APPROVE_CUTOFF: Final = "approve_cutoff"
SERVICE_APPLY_SUPPLY_DECISION: Final = "apply_supply_decision"
SERVICE_PUBLISH_DASHBOARDS: Final = "publish_dashboards"
_LOGGER = logging.getLogger(__name__)
SERVICE_REGISTER_ENERGY_DEVICES: Final = "register_energy_devices"

_TENANT_FIELDS: Final[dict[vol.Marker, Any]] = {
    vol.Required(ATTR_DEVICE_ID): cv.string,
    vol.Required(ATTR_REASON): vol.All(cv.string, vol.Length(min=1)),
}
AMOUNT_SCHEMA: Final = vol.Schema(
    {**_TENANT_FIELDS, vol.Required(ATTR_AMOUNT): vol.Any(str, int, float)}
)
EXEMPTION_SCHEMA: Final = vol.Schema(
    {
        **_TENANT_FIELDS,
        vol.Required(ATTR_EXEMPT): cv.boolean,
        vol.Optional(ATTR_UNTIL): cv.datetime,
    }
)
APPROVAL_SCHEMA: Final = vol.Schema(_TENANT_FIELDS)
DECISION_SCHEMA: Final = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string})


def _invalid_amount(key: str, value: Any, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"amount": str(value), **placeholders},
    )


# The ledger's money grammar (addon BILLING.md, "Amounts"): checked here for a friendly error.
_AMOUNT_TEXT: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def parse_amount(value: Any) -> str:
    """The amount text to send (see the module docstring); a whole number is written out."""
    if isinstance(value, float):
        raise _invalid_amount("amount_not_text", value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _invalid_amount("invalid_amount", value)
    text = str(value).strip()  # what a text field adds around it, not part of the amount
    if _AMOUNT_TEXT.fullmatch(text) is None:
        raise _invalid_amount("invalid_amount", value)
    return text


def call_ref(call: ServiceCall, service: str, tenant_id: str, amount: str) -> str:
    """The idempotency key of a balance change: the call's context id and what it asks for.

    A retry of the same call (same context: an automation's retry loop, the integration's own
    retry after a timeout) posts once; another change in the same script run (another tenant,
    amount or reason) is not mistaken for it.
    """
    asked = "\n".join((service, tenant_id, amount, call.data[ATTR_REASON]))
    return f"ha:{call.context.id}:{hashlib.sha256(asked.encode()).hexdigest()[:16]}"


def _tenant_link(hass: HomeAssistant, device_id: str) -> tuple[LedgerLink, str]:
    """The loaded ledger link and tenant id behind a tenant device."""
    device = dr.async_get(hass).async_get(device_id)
    tenant_id = None if device is None else tenant_id_of(device.identifiers)
    if device is None or tenant_id is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_tenant",
            translation_placeholders={"device_id": device_id},
        )
    entry_ids = device_config_entry_ids(device)
    for link in loaded_runtimes(hass, LedgerLink):
        if link.entry.entry_id in entry_ids:
            return link, tenant_id
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="ledger_not_loaded")


async def _actor(hass: HomeAssistant, call: ServiceCall) -> str | None:
    """The acting HA user's name; None lets the ledger use the token's name."""
    if call.context.user_id is None:
        return None
    user = await hass.auth.async_get_user(call.context.user_id)
    return user.name if user is not None else None


type LedgerAction = Callable[[LedgerClient, str, ServiceCall, str | None], Awaitable[Any]]


async def _call_ledger(
    hass: HomeAssistant, action: LedgerAction, call: ServiceCall
) -> tuple[LedgerLink, Any]:
    link, tenant_id = _tenant_link(hass, call.data[ATTR_DEVICE_ID])
    actor = await _actor(hass, call)
    try:
        result = await action(link.client, tenant_id, call, actor)
    except LedgerRequestError as err:
        if err.status >= 500:  # the ledger failed, not the request
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="ledger_failed",
                translation_placeholders={"tenant": tenant_id, "message": err.message},
            ) from err
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ledger_rejected",
            translation_placeholders={"tenant": tenant_id, "message": err.message},
        ) from err
    except LedgerAuthError as err:
        link.entry.async_start_reauth(hass)
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="ledger_auth_failed"
        ) from err
    except LedgerError as err:
        # Let the coordinator notice, so the repair issue appears without waiting a minute.
        await link.coordinator.async_request_refresh()
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="ledger_cannot_connect",
            translation_placeholders={"url": link.client.url},
        ) from err
    return link, result


async def _balance_change(hass: HomeAssistant, service: str, call: ServiceCall) -> ServiceResponse:
    await async_require_admin(hass, call.context)
    _link, tenant_id = _tenant_link(hass, call.data[ATTR_DEVICE_ID])
    amount = parse_amount(call.data[ATTR_AMOUNT])
    if service == SERVICE_TOP_UP and Decimal(amount) <= 0:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="amount_not_positive",
            translation_placeholders={"amount": amount},
        )
    ref = call_ref(call, service, tenant_id, amount)

    async def _action(
        client: LedgerClient, tenant_id: str, call: ServiceCall, actor: str | None
    ) -> Any:
        change = client.top_up if service == SERVICE_TOP_UP else client.adjust
        return await change(tenant_id, amount, call.data[ATTR_REASON], actor, ref=ref)

    _, change = await _call_ledger(hass, _action, call)
    return {"entry_id": change.entry_id, "balance": str(change.balance)}


async def _set_exemption(hass: HomeAssistant, call: ServiceCall) -> None:
    async def _action(
        client: LedgerClient, tenant_id: str, call: ServiceCall, actor: str | None
    ) -> Any:
        until: datetime | None = call.data.get(ATTR_UNTIL)
        if until is not None:
            until = dt_util.as_utc(until)  # a naive time is HA's local time
        return await client.set_exemption(
            tenant_id,
            exempt=call.data[ATTR_EXEMPT],
            reason=call.data[ATTR_REASON],
            until=until,
            actor=actor,
        )

    await _call_ledger(hass, _action, call)


async def _approve_cutoff(hass: HomeAssistant, call: ServiceCall) -> None:
    async def _action(
        client: LedgerClient, tenant_id: str, call: ServiceCall, actor: str | None
    ) -> Any:
        return await client.approve_cutoff(tenant_id, reason=call.data[ATTR_REASON], actor=actor)

    await _call_ledger(hass, _action, call)


async def _apply_supply_decision(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Carry out the ledger's supply decision for one tenant: cut, restore or nothing.

    The thin executor the cut-off blueprint calls; the policy is the ledger's (switch.py,
    ``SupplySwitch.async_apply_decision``, says when nothing happens).
    """
    await async_require_admin(hass, call.context)
    link, tenant_id = _tenant_link(hass, call.data[ATTR_DEVICE_ID])
    switch = link.supply_switches.get(tenant_id)
    if switch is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_relays",
            translation_placeholders={"tenant": tenant_id},
        )
    return {"action": await switch.async_apply_decision()}


async def _publish_dashboards(hass: HomeAssistant, call: ServiceCall) -> None:
    """(Re)write the "Tenants" dashboard from the tenants the ledger link knows."""
    links = loaded_runtimes(hass, LedgerLink)
    if not links:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="ledger_not_loaded")
    registry = er.async_get(hass)

    def entity_id(platform: str, tenant_id: str, key: str) -> str | None:
        return registry.async_get_entity_id(platform, DOMAIN, tenant_unique_id(tenant_id, key))

    tenants: list[TenantDashboardInfo] = []
    for link in links:
        for tenant_id, tenant in link.tenants.items():
            ids = {
                key: entity_id("sensor", tenant_id, key)
                for key in ("status", "balance", "period_energy", "period_cost")
            }
            supply = entity_id("switch", tenant_id, "supply")
            if supply is None or None in ids.values():
                continue  # entities not registered yet (or removed by the user)
            tenants.append(
                TenantDashboardInfo(
                    tenant_id=tenant_id,
                    name=tenant.name,
                    status=str(ids["status"]),
                    balance=str(ids["balance"]),
                    period_energy=str(ids["period_energy"]),
                    period_cost=str(ids["period_cost"]),
                    supply=supply,
                    quota_remaining=(
                        entity_id("sensor", tenant_id, "quota_remaining")
                        if tenant.quota_kwh is not None
                        else None
                    ),
                    user_id=tenant.ha_user_ids[0] if tenant.ha_user_ids else None,
                    user_ids=tenant.ha_user_ids,
                )
            )
    await async_publish_dashboards(hass, tenants)


@callback
def energy_devices(hass: HomeAssistant) -> list[EnergyDevice]:
    """Every channel energy sensor (MQTT, Modbus, adopted), the upstream meters first."""
    entries: list[TenantMeteringConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    devices = [device for entry in entries for device in entry.runtime_data.energy_devices()]
    upstream = {device.upstream for device in devices}
    return sorted(devices, key=lambda device: device.stat_consumption not in upstream)


async def _register_energy_devices(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Add every channel to the energy dashboard as an individual device (once)."""
    await async_require_admin(hass, call.context)
    changes = await async_register_energy_devices(hass, energy_devices(hass))
    added: list[JsonValueType] = list(changes.devices)
    backfilled: dict[str, JsonValueType] = {}
    for link in loaded_runtimes(hass, LedgerLink):
        try:
            backfilled |= await async_backfill_statistics(hass, link.client)
        except LedgerError as err:
            # The dashboard is set up; history follows when the action runs again.
            _LOGGER.warning("No history from the ledger at %s: %s", link.client.url, err)
    return {"added": added, "grid": changes.grid, "backfilled": backfilled}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the ledger services (once, from ``async_setup``), for admins only.

    Those that answer check the caller themselves (the admin helper cannot register a
    service with a response).
    """
    for service in (SERVICE_TOP_UP, SERVICE_ADJUST):
        hass.services.async_register(
            DOMAIN,
            service,
            partial(_balance_change, hass, service),
            schema=AMOUNT_SCHEMA,
            supports_response=SupportsResponse.OPTIONAL,
        )
    hass.services.async_register(
        DOMAIN,
        SERVICE_REGISTER_ENERGY_DEVICES,
        partial(_register_energy_devices, hass),
        schema=vol.Schema({}),
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_register_admin_service(
        hass, DOMAIN, SERVICE_SET_EXEMPTION, partial(_set_exemption, hass), EXEMPTION_SCHEMA
    )
    async_register_admin_service(
        hass, DOMAIN, SERVICE_APPROVE_CUTOFF, partial(_approve_cutoff, hass), APPROVAL_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_APPLY_SUPPLY_DECISION,
        partial(_apply_supply_decision, hass),
        schema=DECISION_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_PUBLISH_DASHBOARDS,
        partial(_publish_dashboards, hass),
        vol.Schema({}),
    )
