"""An ingress stand-in for the demo: plays the Supervisor's part in front of the ledger's web UI.

In production a user opens *Tenant Metering* in Home Assistant's sidebar; HA has already
authenticated them, and the Supervisor's ingress proxy forwards their requests to the add-on
with ``X-Remote-User-Id``, ``X-Remote-User-Name``, ``X-Remote-User-Display-Name`` and
``X-Ingress-Path``. The demo has no Supervisor, so this small reverse proxy on 127.0.0.1 does
the same: a login page runs Home Assistant's own login flow (the identity really comes from
HA), a session cookie remembers the user, and every request under the ingress path goes to
the ledger with those headers, the ones a browser sent stripped first.

The ledger believes the headers only from its trusted proxies (``--trusted-proxies
127.0.0.1`` in the demo). Anything on this machine that reaches the ledger's port directly
could send them too: acceptable on a demo's loopback, which is why production trusts only the
Supervisor's address.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
import html
import secrets
import time
from typing import Any, Final
from urllib.parse import quote

import aiohttp
from aiohttp import hdrs, web
from multidict import CIMultiDict
from yarl import URL

from tenant_sim.net import LOOPBACK

DEFAULT_PREFIX: Final = "/api/hassio_ingress/demo"
"""Where the ledger's pages are mounted, as HA mounts an add-on at /api/hassio_ingress/<token>."""
SESSION_COOKIE: Final = "demo_ingress_session"
SESSION_TTL: Final = 12 * 3600.0
USER_ID_HEADER: Final = "X-Remote-User-Id"
USER_NAME_HEADER: Final = "X-Remote-User-Name"
DISPLAY_NAME_HEADER: Final = "X-Remote-User-Display-Name"
INGRESS_PATH_HEADER: Final = "X-Ingress-Path"
_STRIPPED_PREFIXES: Final = ("x-remote-user", "x-ingress-path", "x-hass-")
"""Identity headers a browser may not send: only this proxy sets them."""
_NOT_FORWARDED: Final = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length",
        "accept-encoding",  # the client session decompresses; let it ask for what it reads
        "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",  # set afresh below
    }
)  # fmt: skip
_NOT_RETURNED: Final = frozenset(
    {
        "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
        "proxy-authenticate", "trailer", "upgrade",
    }
)  # fmt: skip
_OWN_PAGE_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class HaIdentity:
    """Who Home Assistant says the visitor is."""

    user_id: str
    username: str
    name: str
    is_admin: bool


class LoginError(Exception):
    """The login did not succeed; the message is shown on the login form."""


type Authenticate = Callable[[str, str], Awaitable[HaIdentity]]


class HomeAssistantLogin:
    """HA's login flow, as HA's own login page runs it, then ``auth/current_user``."""

    def __init__(self, ha_url: str, client_id: str) -> None:
        self.ha_url = ha_url.rstrip("/")
        self.client_id = client_id

    async def __call__(self, username: str, password: str) -> HaIdentity:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                return await self._login(session, username, password)
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as err:
            raise LoginError(
                f"Home Assistant at {self.ha_url} did not answer the login "
                f"({type(err).__name__}); is the demo still starting?"
            ) from err

    async def _login(
        self, session: aiohttp.ClientSession, username: str, password: str
    ) -> HaIdentity:
        base, client_id = self.ha_url, self.client_id
        async with session.post(
            f"{base}/auth/login_flow",
            json={
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": client_id,
            },
        ) as reply:
            reply.raise_for_status()
            flow = await reply.json()
        async with session.post(
            f"{base}/auth/login_flow/{flow['flow_id']}",
            json={"client_id": client_id, "username": username, "password": password},
        ) as reply:
            result: dict[str, Any] = await reply.json()
        if result.get("type") != "create_entry":
            errors = result.get("errors") or {}
            if errors.get("base") == "invalid_auth":
                raise LoginError("Wrong user name or password.")
            detail = errors or result.get("reason") or result.get("message") or reply.status
            raise LoginError(f"Home Assistant refused the login ({detail}).")
        async with session.post(
            f"{base}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": result["result"],
                "client_id": client_id,
            },
        ) as reply:
            reply.raise_for_status()
            tokens = await reply.json()
        try:
            user = await _current_user(session, base, tokens["access_token"])
        finally:
            # The proxy keeps its own session; HA need not keep a token for it.
            async with session.post(
                f"{base}/auth/revoke", data={"token": tokens["refresh_token"]}
            ) as reply:
                await reply.read()
        return HaIdentity(
            user_id=user["id"],
            # auth/current_user has no user name; HA's own provider accepted this one,
            # normalized so (strip, casefold), which is the name ingress would send.
            username=username.strip().casefold(),
            name=user.get("name") or "",
            is_admin=bool(user.get("is_admin")),
        )


async def _current_user(session: aiohttp.ClientSession, base: str, token: str) -> dict[str, Any]:
    async with session.ws_connect(base + "/api/websocket") as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise LoginError("Home Assistant did not accept its own access token.")
        await ws.send_json({"id": 1, "type": "auth/current_user"})
        reply = await ws.receive_json()
        if not reply.get("success"):
            raise LoginError(f"Home Assistant: auth/current_user failed ({reply.get('error')})")
        user: dict[str, Any] = reply["result"]
        return user


@dataclass(frozen=True, kw_only=True, slots=True)
class _Session:
    user: HaIdentity
    expires: float


def upstream_headers(
    browser: Iterable[tuple[str, str]],
    user: HaIdentity,
    *,
    prefix: str,
    peer: str,
    host: str,
    scheme: str,
) -> CIMultiDict[str]:
    """The headers the ledger gets: the browser's, minus identity and hop-by-hop, plus ours.

    Every header naming a user or the ingress path is dropped whatever its case, then set
    from the session's HA user; our session cookie stays with us.
    """
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in browser:
        lower = name.lower()
        if lower in _NOT_FORWARDED or lower.startswith(_STRIPPED_PREFIXES):
            continue
        kept = _without_session_cookie(value) if lower == "cookie" else value
        if kept:
            headers.add(name, kept)
    headers[USER_ID_HEADER] = user.user_id
    headers[USER_NAME_HEADER] = user.username
    headers[DISPLAY_NAME_HEADER] = user.name
    headers[INGRESS_PATH_HEADER] = prefix
    headers["X-Hass-Source"] = "core.ingress"
    headers[hdrs.X_FORWARDED_FOR] = peer
    headers[hdrs.X_FORWARDED_HOST] = host
    headers[hdrs.X_FORWARDED_PROTO] = scheme
    return headers


def _without_session_cookie(cookie_header: str) -> str:
    kept = [
        part.strip()
        for part in cookie_header.split(";")
        if part.strip() and part.split("=", 1)[0].strip() != SESSION_COOKIE
    ]
    return "; ".join(kept)


class IngressStandIn:
    """The reverse proxy: ``/`` the panel, ``/login``, ``/logout``, the ledger at ``prefix``."""

    def __init__(
        self,
        *,
        ledger_url: str,
        ha_url: str,
        port: int,
        prefix: str = DEFAULT_PREFIX,
        authenticate: Authenticate | None = None,
    ) -> None:
        """``authenticate`` defaults to HA's login flow at ``ha_url`` (tests pass their own)."""
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"the ingress path must start but not end with '/': {prefix!r}")
        self.ledger_url = ledger_url.rstrip("/")
        self.ha_url = ha_url.rstrip("/")
        self.port = port
        self.prefix = prefix
        self.authenticate = authenticate or HomeAssistantLogin(self.ha_url, self.url + "/")
        self._sessions: dict[str, _Session] = {}
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    # -- life cycle ----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._panel)
        app.router.add_get("/login", self._login_form)
        app.router.add_post("/login", self._login)
        app.router.add_get("/logout", self._logout)
        app.router.add_route("*", self.prefix, self._to_slash)
        app.router.add_route("*", self.prefix + "/{tail:.*}", self._proxy)
        return app

    async def start(self) -> None:
        self._client = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=120),
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies are the browser's, not ours
        )
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- sessions --------------------------------------------------------------------------------

    def _user(self, request: web.Request) -> HaIdentity | None:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.expires < time.monotonic():
            del self._sessions[session_id]
            return None
        return session.user

    def _new_session(self, user: HaIdentity) -> str:
        now = time.monotonic()
        for stale in [k for k, s in self._sessions.items() if s.expires < now]:
            del self._sessions[stale]
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = _Session(user=user, expires=now + SESSION_TTL)
        return session_id

    def _safe_next(self, target: str) -> str:
        """Only our own panel or ledger pages: never an open redirect."""
        if target in ("/", self.prefix) or target.startswith(self.prefix + "/"):
            return target
        return "/"

    def _cross_site(self, request: web.Request) -> bool:
        origin = request.headers.get(hdrs.ORIGIN)
        return origin is not None and origin not in (self.url, f"http://localhost:{self.port}")

    # -- our pages -------------------------------------------------------------------------------

    async def _panel(self, request: web.Request) -> web.StreamResponse:
        """What HA's sidebar panel is: a bar with the user and the add-on's UI in a frame."""
        user = self._user(request)
        if user is None:
            raise web.HTTPSeeOther("/login")
        body = _PANEL.format(
            name=html.escape(user.name or user.username),
            username=html.escape(user.username),
            role="administrator" if user.is_admin else "user",
            ha_url=html.escape(self.ha_url),
            src=html.escape(self.prefix + "/"),
            style=_STYLE,
        )
        return _page(body)

    async def _login_form(self, request: web.Request) -> web.StreamResponse:
        target = self._safe_next(request.query.get("next", "/"))
        return _login_page(target, "", "")

    async def _login(self, request: web.Request) -> web.StreamResponse:
        if self._cross_site(request):
            raise web.HTTPForbidden(text="This form must be sent from the demo's own login page.")
        form = await request.post()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        target = self._safe_next(str(form.get("next", "/")))
        if not username.strip() or not password:
            return _login_page(target, username, "Enter a user name and a password.", 400)
        try:
            user = await self.authenticate(username, password)
        except LoginError as err:
            return _login_page(target, username, str(err), 401)
        response = web.HTTPSeeOther(target)
        response.set_cookie(
            SESSION_COOKIE,
            self._new_session(user),
            path="/",
            httponly=True,
            samesite="Strict",
            max_age=int(SESSION_TTL),
        )
        raise response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        self._sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    async def _to_slash(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(self.prefix + "/")

    # -- the proxy -------------------------------------------------------------------------------

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        if user is None:
            if request.method in ("GET", "HEAD"):
                raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
            raise web.HTTPUnauthorized(text="Log in first: open /login.")
        assert self._client is not None, "start() first"
        peer = request.remote or LOOPBACK
        headers = upstream_headers(
            request.headers.items(),
            user,
            prefix=self.prefix,
            peer=peer,
            host=request.host,
            scheme=request.scheme,
        )
        body = await request.read() if request.body_exists else None
        target = URL(self.ledger_url).with_path("/" + request.match_info["tail"])
        try:
            async with self._client.request(
                request.method,
                target,
                params=request.query,
                headers=headers,
                data=body,
                allow_redirects=False,
                skip_auto_headers={hdrs.CONTENT_TYPE},
            ) as reply:
                payload = await reply.read()
                returned = _returned_headers(reply.headers.items())
                return web.Response(status=reply.status, headers=returned, body=payload)
        except aiohttp.ClientError as err:
            raise web.HTTPBadGateway(
                text=f"The ledger at {self.ledger_url} did not answer ({type(err).__name__})."
            ) from err


def _returned_headers(headers: Iterable[tuple[str, str]]) -> CIMultiDict[str]:
    kept: CIMultiDict[str] = CIMultiDict()
    for name, value in headers:
        if name.lower() not in _NOT_RETURNED:
            kept.add(name, value)
    return kept


def _page(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=body, status=status, content_type="text/html", headers=dict(_OWN_PAGE_HEADERS)
    )


def _login_page(target: str, username: str, error: str, status: int = 200) -> web.Response:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return _page(
        _LOGIN.format(
            style=_STYLE, message=message, username=html.escape(username), next=html.escape(target)
        ),
        status,
    )


_STYLE: Final = """<style>
body{margin:0;font:16px/1.4 system-ui,sans-serif;background:#f4f5f7;color:#1c1c1c}
.bar{display:flex;gap:1em;align-items:center;padding:.5em 1em;background:#03a9f4;color:#fff}
.bar a{color:#fff}.bar .grow{flex:1}
iframe{border:0;width:100%;height:calc(100vh - 2.6em);display:block;background:#fff}
form{max-width:22em;margin:4em auto;padding:1.5em;background:#fff;border-radius:8px;
box-shadow:0 1px 4px #0003}
label{display:block;margin:.8em 0 .2em}input{width:100%;padding:.45em;box-sizing:border-box}
button{margin-top:1.2em;padding:.5em 1.2em}.error{color:#b00020;font-weight:600}
.note{color:#555;font-size:.9em}
</style>"""
_LOGIN: Final = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Tenant Metering demo</title>{style}</head><body>
<form method="post" action="/login">
<h1>Tenant Metering</h1>
<p class="note">Log in with a Home Assistant user of the demo (scripts/demo prints them).
This page stands in for Home Assistant's ingress; in production you open
<em>Tenant Metering</em> in Home Assistant's sidebar.</p>
{message}
<label for="username">User name</label>
<input id="username" name="username" value="{username}" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}">
<button type="submit">Log in</button>
</form></body></html>
"""
_PANEL: Final = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tenant Metering · demo</title>{style}</head><body>
<div class="bar"><strong>Tenant Metering</strong><span class="grow"></span>
<span title="Home Assistant {role}">{name} ({username})</span>
<a href="{ha_url}" target="_blank" rel="noopener">Home Assistant</a>
<a href="/logout">Log out</a></div>
<iframe src="{src}" title="Tenant Metering"></iframe>
</body></html>
"""
