"""One request's view of the UI: who asks, the ingress prefix, the CSRF token, rendering.

``Web.route`` wraps every handler in the same checks, in this order, so no handler can forget
one: trusted identity (else the "ask your landlord" page, 403), CSRF on POST (403), landlord-only
pages (404 for tenants), and a ``{tenant_id}`` in the path the caller may read (404 otherwise,
whether or not that tenant exists, so ids do not leak).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
import jinja2
from multidict import MultiDictProxy

from tenant_ledger.billing import format_kwh, format_minor
from tenant_ledger.operations import Action, tenant_of_user
from tenant_ledger.service import LedgerService
from tenant_ledger.web import forms
from tenant_ledger.web.csrf import FIELD, CsrfGuard
from tenant_ledger.web.identity import HaUser, Identity, Role, ha_user, identify, ingress_prefix

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Access(Enum):
    LANDLORD = "landlord"
    ACCOUNT = "account"
    """A landlord, or a tenant (only their own ``{tenant_id}``)."""


@dataclass(kw_only=True)
class Page:
    """One authorised request."""

    request: web.Request
    who: Identity
    prefix: str
    csrf_token: str
    new_nonce: str | None
    form: MultiDictProxy[str | bytes | web.FileField] | None = None

    def url(self, path: str, **query: str) -> str:
        """``path`` under the ingress prefix; every link in the UI is built here."""
        suffix = f"?{urlencode(query)}" if query else ""
        return f"{self.prefix}{path}{suffix}"

    @property
    def tenant_id(self) -> str:
        return self.request.match_info["tenant_id"]

    def field(self, name: str) -> str:
        value = None if self.form is None else self.form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def query(self, name: str) -> str:
        return self.request.query.get(name, "").strip()


type Handler = Callable[["Web", Page], Awaitable[web.StreamResponse]]


@dataclass(kw_only=True)
class Web:
    service: LedgerService
    trusted_proxies: frozenset[str]
    landlords: frozenset[str]
    top_up_text: str
    templates: jinja2.Environment
    csrf: CsrfGuard
    confirm_above_minor: int
    """Money forms above this (either sign) show a confirmation first."""
    seen: dict[str, HaUser] = field(default_factory=dict)
    """HA users who opened the UI unlinked, offered to the landlord when linking."""
    portal_url: str = ""
    """Where tenants reach the portal's own door (sign-in links start with it); empty: the
    console's host name on ``portal_port``."""
    portal_port: int | None = None
    """The portal's own port (None: no portal, so no sign-in links)."""

    @property
    def currency(self) -> str:
        return self.service.catalog.currency

    def render(self, page: Page, template: str, status: int = 200, **context: Any) -> web.Response:
        return self._html(
            template,
            status,
            prefix=page.prefix,
            new_nonce=page.new_nonce,
            page=page,
            who=page.who,
            url=page.url,
            csrf_field=FIELD,
            csrf_token=page.csrf_token,
            new_form_key=forms.new_form_key,
            currency=self.currency,
            money=lambda minor: format_minor(minor, self.currency),
            kwh=format_kwh,
            fmt=self.service.formats,
            **context,
        )

    def _html(
        self, template: str, status: int, *, prefix: str, new_nonce: str | None, **context: Any
    ) -> web.Response:
        text = self.templates.get_template(template).render(prefix=prefix, **context)
        response = web.Response(
            text=text, status=status, content_type="text/html", headers=_SECURITY_HEADERS
        )
        if new_nonce is not None:
            CsrfGuard.set_cookie(response, new_nonce, prefix)
        return response

    def action(self, page: Page, reason: str) -> Action:
        """A change by the page's user: the HA user name as actor, the user id as principal."""
        return Action(
            actor=page.who.actor,
            reason=reason,
            now_us=self.service.clock(),
            principal=page.who.principal,
        )

    def not_found(self, page: Page) -> web.Response:
        return self.render(page, "not_found.html", 404)

    def refused(self, page: Page, message: str, status: int = 403) -> web.Response:
        return self.render(page, "refused.html", status, message=message)

    async def _identify(self, request: web.Request) -> Identity:
        user = ha_user(request, self.trusted_proxies)
        if user is None:
            return identify(None, self.landlords, None)
        tenant_id = await self.service.read(lambda c, _cat: tenant_of_user(c, user.user_id))
        if tenant_id is not None and tenant_id not in self.service.catalog.tenants:
            tenant_id = None
        return identify(user, self.landlords, tenant_id)

    def unidentified(self, who: Identity, prefix: str) -> web.Response:
        """The answer to someone the UI does not know: the "ask your landlord" page."""
        if who.user is not None:
            self.seen[who.user.user_id] = who.user
        return self._html("ask.html", 403, prefix=prefix, new_nonce=None, who=who)

    def route(self, access: Access, handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            who = await self._identify(request)
            prefix = ingress_prefix(request, self.trusted_proxies)
            if who.role in (Role.ANONYMOUS, Role.UNMAPPED):
                return self.unidentified(who, prefix)
            assert who.user is not None
            nonce, is_new = CsrfGuard.session_nonce(request)
            page = Page(
                request=request,
                who=who,
                prefix=prefix,
                csrf_token=self.csrf.token(who.user.user_id, nonce),
                new_nonce=nonce if is_new else None,
            )
            if request.method == "POST":
                form = await read_form(request)
                if form is None:
                    return self.refused(page, UNREADABLE_FORM, status=400)
                page.form = form
                problem = self.csrf.problem(request, who.user.user_id, page.field(FIELD))
                if problem is not None:
                    return self.refused(page, problem)
            if access is Access.LANDLORD and not who.is_landlord:
                return self.not_found(page)
            if "tenant_id" in request.match_info and not (
                who.may_read(page.tenant_id) and page.tenant_id in self.service.catalog.tenants
            ):
                return self.not_found(page)
            return await handler(self, page)

        return handle


UNREADABLE_FORM = (
    "This form could not be read: it is not UTF-8 text, or it holds a NUL character. "
    "Reload the page and try again."
)


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | web.FileField] | None:
    """The posted form, or None when it is not text every page and database can take."""
    try:
        form = await request.post()
    except (UnicodeDecodeError, ValueError):
        return None
    if any(isinstance(value, str) and "\x00" in value for value in form.values()):
        return None
    if any("\x00" in key for key in form):
        return None
    return form


def redirect(page: Page, path: str, **query: str) -> web.HTTPSeeOther:
    """Post/redirect/get: the answer to a successful form."""
    return web.HTTPSeeOther(page.url(path, **query))
