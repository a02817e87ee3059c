"""Each tenant's portal sign-in link and PIN, made as a landlord makes them: in the console.

Tenants get no Home Assistant login (HA cannot hide one tenant's entities from another); they
open the ledger's own portal port with the link and PIN the landlord hands them. The demo plays
the landlord at the console through the ingress headers the ledger trusts from 127.0.0.1.
"""

from collections.abc import Iterable
from dataclasses import dataclass
import html
import re

import aiohttp

_CSRF = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')
_SIGN_IN_URL = re.compile(r'data-testid="sign-in-url" href="([^"]+)"')
_PIN = re.compile(r'data-testid="pin">(\d+)<')


@dataclass(frozen=True, kw_only=True)
class SignInLink:
    tenant_id: str
    url: str
    pin: str


class ConsoleError(RuntimeError):
    """The console did not make the link (its page is quoted)."""


async def make_sign_in_links(
    ledger_url: str, landlord: str, tenant_ids: Iterable[str]
) -> list[SignInLink]:
    """One new link per tenant, through the console's own form (CSRF token and all)."""
    headers = {"X-Remote-User-Id": f"demo-{landlord}", "X-Remote-User-Name": landlord}
    jar = aiohttp.CookieJar(unsafe=True)  # the console's session cookie on 127.0.0.1
    links = []
    async with aiohttp.ClientSession(ledger_url, headers=headers, cookie_jar=jar) as session:
        for tenant_id in tenant_ids:
            path = f"/tenants/{tenant_id}/portal"
            async with session.get(path) as page:
                token = _CSRF.search(await page.text())
            if token is None:
                raise ConsoleError(f"{path}: no form (HTTP {page.status})")
            async with session.post(path, data={"csrf_token": token[1]}) as made:
                text = await made.text()
            url, pin = _SIGN_IN_URL.search(text), _PIN.search(text)
            if made.status != 200 or url is None or pin is None:
                raise ConsoleError(f"{path}: HTTP {made.status}: {text[:300]}")
            links.append(SignInLink(tenant_id=tenant_id, url=html.unescape(url[1]), pin=pin[1]))
    return links
