"""The "Tenants" dashboard: a landlord overview and one view per tenant.

`async_publish_dashboards` (behind the `tenant_metering.publish_dashboards` service)
creates the storage-mode dashboard `tenant-metering` on first use and overwrites its
content on every call, so it follows the tenant list. Built from core cards only.

This is the landlord's dashboard: every view is visible to the landlords (HA admins), a
tenant's view also to the HA users linked to the tenant. View visibility only hides views in
the UI: every HA user can still read every entity, so tenants get the ledger's portal (their
own link and PIN) rather than an HA login. Views carry titles and no icons, so the tabs are
labelled with names.

Internal HA API (guarded, checked on 2025.4): Lovelace keeps its dashboards collection in
a local variable, so there is no public handle to create a dashboard from Python. We take
it from the object behind Lovelace's own `lovelace/dashboards/list` websocket command, the
same collection the UI uses, so the dashboard is stored, listed and editable like one
the landlord made. Writing the content uses the public `LovelaceStorage.async_save`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.lovelace.const import LOVELACE_DATA, MODE_STORAGE
from homeassistant.components.lovelace.dashboard import DashboardsCollection
from homeassistant.components.websocket_api.const import DOMAIN as WEBSOCKET_API_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

URL_PATH: Final = "tenant-metering"
TITLE: Final = "Tenants"
ICON: Final = "mdi:home-lightning-bolt"
_LIST_COMMAND: Final = "lovelace/dashboards/list"
_LOCKED: Final = {"action": "none"}  # tenants see their supply but cannot toggle it


@dataclass(frozen=True, kw_only=True)
class TenantDashboardInfo:
    """What the dashboard shows of one tenant.

    `user_id` is the HA user who is the tenant; `user_ids` all the HA users linked to the
    tenant (the ledger's `ha_user_ids`, e.g. a couple sharing a room). The tenant's view is
    visible to all of them.
    """

    tenant_id: str
    name: str
    status: str
    balance: str
    period_energy: str
    period_cost: str
    supply: str
    quota_remaining: str | None = None
    user_id: str | None = None
    user_ids: tuple[str, ...] = ()

    @property
    def viewers(self) -> list[str]:
        """The HA users who see this tenant's view (without duplicates, in order)."""
        ids = ((self.user_id,) if self.user_id else ()) + self.user_ids
        return list(dict.fromkeys(ids))


def _visible_to(user_ids: Iterable[str]) -> list[dict[str, str]]:
    return [{"user": user_id} for user_id in user_ids]


def _overview(tenants: Sequence[TenantDashboardInfo], admins: Sequence[str]) -> dict[str, Any]:
    cards: list[dict[str, Any]] = [
        {
            "type": "statistics-graph",
            "title": "Energy today",
            "entities": [tenant.period_energy for tenant in tenants],
            "period": "hour",
            "days_to_show": 1,
            "stat_types": ["change"],
            "chart_type": "bar",
        }
    ]
    cards += [
        {
            "type": "entities",
            "title": tenant.name,
            "entities": [
                {"entity": tenant.status, "name": "Status"},
                {"entity": tenant.balance, "name": "Balance"},
                {"entity": tenant.period_energy, "name": "This period"},
                {"entity": tenant.supply, "name": "Supply"},
            ],
        }
        for tenant in tenants
    ]
    return {
        "title": "Overview",
        "path": "overview",
        "visible": _visible_to(admins),
        "cards": cards,
    }


def _tenant_view(tenant: TenantDashboardInfo, admins: Sequence[str]) -> dict[str, Any]:
    details = [
        {"entity": tenant.period_energy, "name": "Energy this period"},
        {"entity": tenant.period_cost, "name": "Cost this period"},
    ]
    if tenant.quota_remaining:
        details.append({"entity": tenant.quota_remaining, "name": "Allowance left"})
    return {
        "title": tenant.name,
        "path": f"tenant-{tenant.tenant_id}",
        # The landlords see every tenant's view; linked HA users see their own.
        "visible": _visible_to(dict.fromkeys([*admins, *tenant.viewers])),
        "cards": [
            {"type": "tile", "entity": tenant.balance, "name": "Balance"},
            {"type": "tile", "entity": tenant.status, "name": "Status"},
            {
                "type": "tile",
                "entity": tenant.supply,
                "name": "Supply",
                "tap_action": _LOCKED,
                "icon_tap_action": _LOCKED,
            },
            {"type": "entities", "title": "This billing period", "entities": details},
            {
                "type": "statistics-graph",
                "title": "Daily use",
                "entities": [tenant.period_energy],
                "period": "day",
                "days_to_show": 30,
                "stat_types": ["change"],
                "chart_type": "bar",
            },
            {
                "type": "markdown",
                "title": "Statements",
                "content": (
                    "Statements (PDF and CSV), payments and the full history are in the "
                    "tenant portal: each tenant signs in with the link and PIN the landlord "
                    "gives them (console, the tenant's page). Only the tenant and the "
                    "landlord see them there."
                ),
            },
        ],
    }


def build_dashboard_config(
    tenants: Sequence[TenantDashboardInfo], admin_user_ids: Sequence[str]
) -> dict[str, Any]:
    """The Lovelace config: the overview for landlords, then one view per tenant."""
    ordered = sorted(tenants, key=lambda tenant: (tenant.name.casefold(), tenant.tenant_id))
    return {
        "title": TITLE,
        "views": [_overview(ordered, admin_user_ids)]
        + [_tenant_view(tenant, admin_user_ids) for tenant in ordered],
    }


def _dashboards_collection(hass: HomeAssistant) -> DashboardsCollection:
    """HA's own dashboards collection (internal, see the module docstring)."""
    handler = hass.data.get(WEBSOCKET_API_DOMAIN, {}).get(_LIST_COMMAND, (None,))[0]
    collection = getattr(getattr(handler, "__self__", None), "storage_collection", None)
    if not isinstance(collection, DashboardsCollection):
        raise HomeAssistantError(
            translation_domain="tenant_metering", translation_key="dashboards_unavailable"
        )
    return collection


async def _admin_user_ids(hass: HomeAssistant) -> list[str]:
    users = await hass.auth.async_get_users()
    return sorted(
        user.id for user in users if user.is_admin and user.is_active and not user.system_generated
    )


async def async_publish_dashboards(
    hass: HomeAssistant, tenants: Sequence[TenantDashboardInfo]
) -> None:
    """Create the "Tenants" dashboard if needed and write its views for `tenants`."""
    lovelace = hass.data.get(LOVELACE_DATA)
    if lovelace is None:
        raise HomeAssistantError(
            translation_domain="tenant_metering", translation_key="dashboards_unavailable"
        )
    if URL_PATH not in lovelace.dashboards:
        await _dashboards_collection(hass).async_create_item(
            {"url_path": URL_PATH, "title": TITLE, "icon": ICON, "show_in_sidebar": True}
        )
    dashboard = lovelace.dashboards.get(URL_PATH)
    if dashboard is None or dashboard.mode != MODE_STORAGE:
        # A YAML dashboard of the same name is the landlord's: never overwrite it.
        raise HomeAssistantError(
            translation_domain="tenant_metering", translation_key="dashboard_not_storage"
        )
    await dashboard.async_save(build_dashboard_config(tenants, await _admin_user_ids(hass)))
