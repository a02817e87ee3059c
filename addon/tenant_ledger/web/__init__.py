"""The ledger's web UI through HA ingress: the landlord console and the private tenant portal.

``setup_web`` mounts server-rendered pages at ``/`` next to the JSON API under ``/api/``.
"""

from collections.abc import Collection
from pathlib import Path
import secrets

from aiohttp import web
import jinja2

from tenant_ledger.billing.money import AmountSign, parse_amount
from tenant_ledger.i18n import translations
from tenant_ledger.operations.portal import DEFAULT_SESSIONS, SessionPolicy
from tenant_ledger.service import LedgerService
from tenant_ledger.web.context import Access, Handler, Web
from tenant_ledger.web.csrf import CsrfGuard
from tenant_ledger.web.identity import SUPERVISOR_ADDRESS
from tenant_ledger.web.portal import (
    DEFAULT_THROTTLE,
    SIGN_IN_PATH,
    SIGN_OUT_PATH,
    PortalDoor,
    ThrottlePolicy,
    sign_out_page,
)
from tenant_ledger.web.views import (
    accounts,
    actions,
    audit,
    building,
    issues,
    portal_links,
    setup,
    tariffs,
    tenancy,
)

__all__ = [
    "DEFAULT_CONFIRM_ABOVE",
    "DEFAULT_TOP_UP_TEXT",
    "PORTAL_ROUTES",
    "create_portal_app",
    "setup_web",
]

DEFAULT_CONFIRM_ABOVE = "500"
"""Top-ups and adjustments above this (major units, either sign) ask for a confirmation."""
DEFAULT_TOP_UP_TEXT = (
    "Pay your landlord (cash at the desk or a bank transfer with your room in the reference). "
    "The payment shows here as soon as it is recorded."
)
_HERE = Path(__file__).parent
_TENANT = "/tenants/{tenant_id}"
_PERIOD = r"{period:\d{4}-\d{2}-\d{2}}"
_ENTRY = r"{entry_id:\d{1,9}}"
_ISSUED = "issued.{format:pdf|csv}"
"""The statement issued on the billing day, as stored (the page itself is recomputed)."""

ROUTES: tuple[tuple[str, str, Access, Handler], ...] = (
    ("GET", "/", Access.ACCOUNT, accounts.home),
    ("GET", _TENANT, Access.ACCOUNT, accounts.tenant),
    ("GET", f"{_TENANT}/chart.svg", Access.ACCOUNT, accounts.chart),
    ("GET", f"{_TENANT}/readings", Access.ACCOUNT, accounts.readings),
    ("GET", f"{_TENANT}/tariff", Access.ACCOUNT, accounts.tariff),
    ("GET", f"{_TENANT}/statements/{_PERIOD}", Access.ACCOUNT, accounts.statement),
    ("GET", f"{_TENANT}/statements/{_PERIOD}.csv", Access.ACCOUNT, accounts.statement_download),
    ("GET", f"{_TENANT}/statements/{_PERIOD}/{_ISSUED}", Access.ACCOUNT, accounts.issued_download),
    ("POST", f"{_TENANT}/topup", Access.LANDLORD, actions.top_up),
    ("POST", f"{_TENANT}/adjustment", Access.LANDLORD, actions.adjust),
    ("POST", f"{_TENANT}/entries/{_ENTRY}/reverse", Access.LANDLORD, actions.reverse),
    ("POST", f"{_TENANT}/exemption", Access.LANDLORD, actions.exemption),
    ("POST", f"{_TENANT}/cutoff-approval", Access.LANDLORD, actions.approve_cutoff),
    ("POST", f"{_TENANT}/users", Access.LANDLORD, actions.link_user),
    ("POST", f"{_TENANT}/users/remove", Access.LANDLORD, actions.unlink_user),
    ("GET", f"{_TENANT}/portal", Access.LANDLORD, portal_links.links),
    ("POST", f"{_TENANT}/portal", Access.LANDLORD, portal_links.create),
    ("POST", f"{_TENANT}/portal/revoke", Access.LANDLORD, portal_links.revoke),
    ("GET", f"{_TENANT}/move", Access.LANDLORD, tenancy.move_form),
    ("POST", f"{_TENANT}/move-in", Access.LANDLORD, tenancy.move_in),
    ("POST", f"{_TENANT}/move-out", Access.LANDLORD, tenancy.move_out),
    ("GET", "/points", Access.LANDLORD, tenancy.points),
    ("POST", "/points", Access.LANDLORD, tenancy.create_point),
    ("POST", "/points/leak-watch", Access.LANDLORD, tenancy.put_leak_watch),
    ("POST", "/points/leak-watch/remove", Access.LANDLORD, tenancy.remove_leak_watch),
    ("GET", "/building", Access.LANDLORD, building.building),
    ("GET", "/building.csv", Access.LANDLORD, building.building_csv),
    ("GET", "/setup", Access.LANDLORD, setup.setup),
    ("POST", "/setup/tenants", Access.LANDLORD, setup.create_tenant),
    ("POST", "/setup/tenants/edit", Access.LANDLORD, setup.edit_tenant),
    ("POST", "/setup/rooms", Access.LANDLORD, setup.create_room),
    ("POST", "/setup/rooms/edit", Access.LANDLORD, setup.edit_room),
    ("POST", "/setup/plans", Access.LANDLORD, setup.create_plan),
    ("POST", "/setup/plans/edit", Access.LANDLORD, setup.edit_plan),
    ("GET", "/tariffs", Access.LANDLORD, tariffs.tariffs),
    ("POST", "/tariffs", Access.LANDLORD, tariffs.submit_tariff),
    ("GET", "/audit", Access.LANDLORD, audit.audit),
    ("GET", "/readings/issues", Access.LANDLORD, issues.issues),
    (
        "POST",
        r"/readings/issues/{quarantine_id:\d{1,9}}/release",
        Access.LANDLORD,
        issues.release,
    ),
    (
        "POST",
        r"/readings/issues/leaks/{alarm_id:\d{1,9}}/acknowledge",
        Access.LANDLORD,
        issues.acknowledge_leak,
    ),
)
"""Every page: method, path, who may open it, handler (tests walk this table)."""

PORTAL_ROUTES = tuple(
    (method, path, access, handler)
    for method, path, access, handler in ROUTES
    if access is Access.ACCOUNT and method == "GET"
)
"""The pages the portal's own port serves: a tenant's account pages, never the console."""


def setup_web(
    app: web.Application,
    service: LedgerService,
    *,
    landlords: Collection[str] = (),
    trusted_proxies: Collection[str] = (SUPERVISOR_ADDRESS,),
    top_up_text: str | None = None,
    secret: bytes | None = None,
    portal_url: str = "",
    portal_port: int | None = None,
    confirm_above: str = DEFAULT_CONFIRM_ABOVE,
) -> None:
    """Mount the UI on ``app``.

    ``landlords``: HA user names or ids with the landlord console (the add-on option
    ``landlord_users`` plus ``--admin-users``). ``trusted_proxies``: peer addresses whose
    ``X-Remote-User-*`` headers are believed (the Supervisor; 127.0.0.1 in tests and the demo).
    ``secret`` signs CSRF tokens (default: random per process, so a restart expires open forms).
    ``portal_url``/``portal_port``: where the tenant portal's own door is (sign-in links).
    ``confirm_above``: the add-on option of that name (an amount in the ledger's currency).
    """
    # A bad option stops the start with the money module's message rather than a console
    # that never asks.
    confirm_above_minor = parse_amount(
        confirm_above, service.catalog.currency, AmountSign.NON_NEGATIVE
    )
    ui = Web(
        service=service,
        trusted_proxies=frozenset(trusted_proxies),
        landlords=frozenset(landlords),
        top_up_text=top_up_text or DEFAULT_TOP_UP_TEXT,
        templates=_templates(service),
        csrf=CsrfGuard(secret or secrets.token_bytes(32)),
        confirm_above_minor=confirm_above_minor,
        portal_url=portal_url,
        portal_port=portal_port,
    )

    for method, path, access, handler in ROUTES:
        app.router.add_route(method, path, ui.route(access, handler))
    app.router.add_static("/static", _HERE / "static")


def create_portal_app(
    service: LedgerService,
    *,
    top_up_text: str | None = None,
    secret: bytes | None = None,
    policy: SessionPolicy = DEFAULT_SESSIONS,
    throttle: ThrottlePolicy = DEFAULT_THROTTLE,
    portal_url: str = "",
) -> web.Application:
    """The tenant portal on its own port: sign-in by link and PIN, then only the tenant's pages.

    No console page and no API is mounted here, so none can be reached through this port.
    ``portal_url``: the address tenants use when a reverse proxy (HTTPS) stands in front.
    """
    app = web.Application(client_max_size=64 * 1024)
    door = PortalDoor(
        service=service,
        trusted_proxies=frozenset(),
        landlords=frozenset(),
        top_up_text=top_up_text or DEFAULT_TOP_UP_TEXT,
        templates=_templates(service),
        csrf=CsrfGuard(secret or secrets.token_bytes(32)),
        confirm_above_minor=0,  # no money form is served here
        policy=policy,
        throttle=throttle,
        portal_url=portal_url,
    )
    for method, path, access, handler in PORTAL_ROUTES:
        app.router.add_route(method, path, door.route(access, handler))
    app.router.add_get(SIGN_IN_PATH, door.sign_in_form)
    app.router.add_post(SIGN_IN_PATH, door.sign_in)
    app.router.add_post(SIGN_OUT_PATH, door.route(Access.ACCOUNT, sign_out_page))
    app.router.add_static("/static", _HERE / "static")
    return app


def _templates(service: LedgerService) -> jinja2.Environment:
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # One language per add-on (its ``locale`` option), as for the statements it issues.
    templates.install_gettext_translations(  # type: ignore[attr-defined]
        translations(service.config.locale), newstyle=True
    )
    return templates
