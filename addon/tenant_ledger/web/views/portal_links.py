"""The landlord's side of the portal's door: make a tenant's sign-in link (link, QR code and PIN,
shown once), list the links made, revoke one."""

from aiohttp import web
import segno

from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db.portal_store import links_of_tenant
from tenant_ledger.errors import LedgerError
from tenant_ledger.operations.portal import NewLink, create_link, revoke_link
from tenant_ledger.web.context import Page, Web, redirect
from tenant_ledger.web.identity import ingress_prefix
from tenant_ledger.web.portal import SIGN_IN_PATH

FORWARDED_HOST = "X-Forwarded-Host"


def portal_base(web_ui: Web, page: Page) -> str:
    """Where tenants reach the portal: the configured URL, else this host on the portal's port.

    Through ingress the console's own host is Home Assistant's, as the Supervisor forwards it.
    """
    if web_ui.portal_url:
        return web_ui.portal_url.rstrip("/")
    request = page.request
    host = request.host
    if ingress_prefix(request, web_ui.trusted_proxies) or request.remote in web_ui.trusted_proxies:
        host = request.headers.get(FORWARDED_HOST, host)
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return f"http://{name}:{web_ui.portal_port}"


async def _render(web_ui: Web, page: Page, *, new: NewLink | None) -> web.Response:
    catalog, tenant_id = web_ui.service.catalog, page.tenant_id
    links = await web_ui.service.read(lambda c, _cat: links_of_tenant(c, tenant_id))
    sign_in_url = None
    qr = None
    if new is not None:
        sign_in_url = portal_base(web_ui, page) + SIGN_IN_PATH.format(token=new.token)
        qr = segno.make(sign_in_url, error="m").svg_data_uri(scale=5, border=2)

    def local(micros: int | None) -> str:
        if micros is None:
            return ""
        return f"{from_us(micros).astimezone(catalog.zone):%Y-%m-%d %H:%M}"

    return web_ui.render(
        page,
        "portal_links.html",
        tenant_id=tenant_id,
        name=catalog.tenants[tenant_id].name,
        enabled=web_ui.portal_port is not None or bool(web_ui.portal_url),
        links=[
            {
                "id": link.link_id,
                "created": local(link.created_at_us),
                "revoked": local(link.revoked_at_us),
            }
            for link in links
        ],
        new=new,
        sign_in_url=sign_in_url,
        qr=qr,
    )


async def links(web_ui: Web, page: Page) -> web.StreamResponse:
    return await _render(web_ui, page, new=None)


async def create(web_ui: Web, page: Page) -> web.StreamResponse:
    """A new link; its page is the only place the token and PIN are ever shown."""
    tenant_id = page.tenant_id
    action = web_ui.action(page, "portal sign-in link made in the console")
    new = await web_ui.service.write(
        lambda c, cat: create_link(c, cat, action, tenant_id=tenant_id)
    )
    return await _render(web_ui, page, new=new)


async def revoke(web_ui: Web, page: Page) -> web.StreamResponse:
    text = page.field("link_id")
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return web_ui.not_found(page)
    tenant_id, action = page.tenant_id, web_ui.action(page, "portal sign-in link revoked")
    try:
        await web_ui.service.write(
            lambda c, _cat: revoke_link(c, action, tenant_id=tenant_id, link_id=int(text))
        )
    except LedgerError:
        return web_ui.not_found(page)
    raise redirect(page, f"/tenants/{tenant_id}/portal", done="portal_revoke")
