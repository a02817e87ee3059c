"""The tenant portal's own door: its own port, no Home Assistant login.

A tenant opens the sign-in link the landlord gave them (``/s/<token>``), types the PIN, and
gets a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) that maps to exactly that
tenant. From then on every page goes through ``Web.route`` as a tenant's would through ingress:
``Identity.may_read`` decides, so a tenant reaches only their own ``{tenant_id}``. Wrong PINs
are counted per link and per client address; past the limit the door says when to try again.
"""

from dataclasses import dataclass, field
import math
from urllib.parse import urlsplit

from aiohttp import web

from tenant_ledger.db.portal_store import PortalLink
from tenant_ledger.operations import Action
from tenant_ledger.operations.portal import (
    DEFAULT_SESSIONS,
    SessionPolicy,
    find_link,
    live_session,
    sign_in,
    sign_out,
    touch_session,
)
from tenant_ledger.web.context import Page, Web, read_form
from tenant_ledger.web.identity import HaUser, Identity, Role
from tenant_ledger.web.throttle import FailureThrottle

SESSION_COOKIE = "tm_portal"
SIGN_IN_PATH = "/s/{token}"
SIGN_OUT_PATH = "/sign-out"
PIN_FIELD = "pin"
_US = 1_000_000
_TOUCH_EVERY_US = 60 * _US
"""The idle clock restarts at most once a minute: not a database write per page."""
_WINDOW_US = 15 * 60 * _US


@dataclass(frozen=True, kw_only=True, slots=True)
class ThrottlePolicy:
    per_link: int = 5
    """Wrong PINs for one link within the window before it is locked."""
    per_address: int = 20
    """Failed sign-ins (wrong PIN or unknown link) from one address within the window."""
    window_us: int = _WINDOW_US


DEFAULT_THROTTLE = ThrottlePolicy()


def portal_user(link_id: int, name: str) -> HaUser:
    """The session's stand-in for an HA user: CSRF tokens are bound to its id."""
    return HaUser(
        user_id=f"portal_link:{link_id}", name=f"portal link {link_id}", display_name=name
    )


@dataclass(kw_only=True)
class PortalDoor(Web):
    policy: SessionPolicy = DEFAULT_SESSIONS
    throttle: ThrottlePolicy = DEFAULT_THROTTLE
    link_failures: FailureThrottle = field(init=False)
    address_failures: FailureThrottle = field(init=False)

    def __post_init__(self) -> None:
        window = self.throttle.window_us
        self.link_failures = FailureThrottle(limit=self.throttle.per_link, window_us=window)
        self.address_failures = FailureThrottle(limit=self.throttle.per_address, window_us=window)

    # -- who is asking -------------------------------------------------------------------------

    async def _identify(self, request: web.Request) -> Identity:
        session = request.cookies.get(SESSION_COOKIE, "")
        if not session:
            return Identity(role=Role.ANONYMOUS)
        now_us = self.service.clock()
        found = await self.service.read(
            lambda c, _cat: live_session(c, session, now_us, self.policy)
        )
        catalog = self.service.catalog
        if found is None or found.tenant_id not in catalog.tenants:
            return Identity(role=Role.ANONYMOUS)
        if now_us - found.last_seen_us >= _TOUCH_EVERY_US and not self.service.read_only:
            await self.service.write(lambda c, _cat: touch_session(c, session, now_us))
        name = catalog.tenants[found.tenant_id].name
        return Identity(
            role=Role.TENANT, user=portal_user(found.link_id, name), tenant_id=found.tenant_id
        )

    def unidentified(self, who: Identity, prefix: str) -> web.Response:
        return self._door("signed_out", 401)

    def render(
        self, page: Page, template: str, status: int = 200, **context: object
    ) -> web.Response:
        return super().render(page, template, status, sign_out_path=SIGN_OUT_PATH, **context)

    def _door(self, state: str, status: int, **context: object) -> web.Response:
        return self._html(
            "portal_door.html",
            status,
            prefix="",
            new_nonce=None,
            who=Identity(role=Role.ANONYMOUS),
            state=state,
            **context,
        )

    # -- signing in and out --------------------------------------------------------------------

    def _locked(self, request: web.Request, link: PortalLink | None) -> web.Response | None:
        now_us = self.service.clock()
        until = [self.address_failures.locked_until(_address(request), now_us)]
        if link is not None:
            until.append(self.link_failures.locked_until(str(link.link_id), now_us))
        latest = max((item for item in until if item is not None), default=None)
        if latest is None:
            return None
        seconds = max(1, math.ceil((latest - now_us) / _US))
        response = self._door("locked", 429, minutes=math.ceil(seconds / 60))
        response.headers["Retry-After"] = str(seconds)
        return response

    def _same_origin(self, request: web.Request) -> bool:
        """A browser's form post from the door's own page, reached directly or through the
        configured ``portal_url`` (a proxy); no Origin header: not a browser, allowed."""
        origin = request.headers.get("Origin")
        own = {f"{request.scheme}://{request.host}", _origin(self.portal_url)}
        return origin is None or origin in own

    async def _link(self, request: web.Request) -> PortalLink | None:
        token = request.match_info["token"]
        return await self.service.read(lambda c, cat: find_link(c, cat, token))

    def _invalid_link(self, request: web.Request) -> web.Response:
        self.address_failures.fail(_address(request), self.service.clock())
        return self._door("invalid_link", 404)

    async def _open_link(
        self, request: web.Request
    ) -> tuple[PortalLink | None, web.Response | None]:
        """The link in the request's path, or the page that refuses it (locked, unknown)."""
        link = await self._link(request)
        locked = self._locked(request, link)
        if locked is not None:
            return link, locked
        if link is None:
            return None, self._invalid_link(request)
        return link, None

    async def sign_in_form(self, request: web.Request) -> web.Response:
        _link, refused = await self._open_link(request)
        if refused is not None:  # a response is a mapping: never `or` it (an empty one is falsy)
            return refused
        return self._door("sign_in", 200, action=request.path)

    async def sign_in(self, request: web.Request) -> web.Response:
        if not self._same_origin(request):
            return self._door("refused", 403)
        link, refused = await self._open_link(request)
        if refused is not None:
            return refused
        assert link is not None  # no refusal: the link is known
        form = await read_form(request)
        pin = form.get(PIN_FIELD) if form is not None else None
        pin = pin.strip() if isinstance(pin, str) else ""
        now_us = self.service.clock()
        action = Action(
            actor=f"portal link {link.link_id}",
            reason="signed in with the link and its PIN",
            now_us=now_us,
            principal=f"portal_link:{link.link_id}",
        )
        session = await self.service.write(
            lambda c, _cat: sign_in(c, action, link=link, pin=pin, policy=self.policy)
        )
        if session is None:
            self.link_failures.fail(str(link.link_id), now_us)
            self.address_failures.fail(_address(request), now_us)
            locked = self._locked(request, link)
            if locked is not None:  # a response is a mapping: empty, so never "or" it
                return locked
            return self._door("sign_in", 401, action=request.path, wrong_pin=True)
        self.link_failures.forget(str(link.link_id))
        response = _see_other("/")
        response.set_cookie(
            SESSION_COOKIE,
            session,
            path="/",
            max_age=self.policy.absolute_us // _US,
            httponly=True,
            samesite="Strict",
            secure=request.secure or self.portal_url.startswith("https://"),
        )
        return response


async def sign_out_page(web_ui: Web, page: Page) -> web.StreamResponse:
    """End the session (its cookie is forgotten too) and show the signed-out door."""
    session = page.request.cookies.get(SESSION_COOKIE, "")
    tenant_id, user = page.who.tenant_id, page.who.user
    assert tenant_id is not None
    assert user is not None
    action = Action(
        actor=user.name, reason="signed out", now_us=web_ui.service.clock(), principal=user.user_id
    )
    await web_ui.service.write(
        lambda c, _cat: sign_out(c, action, session=session, tenant_id=tenant_id)
    )
    response = _see_other("/")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def _see_other(location: str) -> web.Response:
    """A redirect that carries a cookie (an ``HTTPSeeOther`` is raised, not returned)."""
    return web.Response(status=303, headers={"Location": location})


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (empty for none)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _address(request: web.Request) -> str:
    return request.remote or "unknown"
