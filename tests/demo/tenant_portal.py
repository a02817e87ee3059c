"""A tenant of the demo with only what the demo printed: their portal link and PIN."""

import asyncio
import re
from typing import Any

import aiohttp

from tenant_sim.building import hostel

BUILDING = hostel()
_BALANCE = re.compile(r'data-testid="balance">([-0-9.]+) ')


async def tenant_sees_only_their_portal(
    summary: dict[str, Any], tenant_id: str, name: str, ledger_headers: dict[str, str]
) -> None:
    """Sign in with the link and PIN; the account is theirs, every other tenant's is 404."""
    printed = summary["tenant_portal"]
    assert set(printed) == {tenant.tenant_id for tenant in BUILDING.tenants}
    link, pin = printed[tenant_id]["url"], printed[tenant_id]["pin"]
    base = link.split("/s/")[0]
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as phone,
        aiohttp.ClientSession(headers=ledger_headers) as api,
    ):
        async with phone.get(link) as page:
            assert page.status == 200
        async with phone.post(link, data={"pin": pin}) as page:
            assert page.url.path == "/"
            text = await page.text()
        for _ in range(10):  # the balance moves as readings arrive: compare snapshots
            async with phone.get(f"{base}/") as page:
                text = await page.text()
            async with api.get(f"{summary['ledger_url']}/api/tenants/{tenant_id}") as reply:
                balance = (await reply.json())["balance"]
            if _BALANCE.findall(text) == [balance]:
                break
            await asyncio.sleep(0.3)
        assert f"<h1>{name}</h1>" in text
        assert _BALANCE.findall(text) == [balance]
        others = [tenant for tenant in BUILDING.tenants if tenant.tenant_id != tenant_id]
        assert not [tenant.name for tenant in others if tenant.name in text]
        for other in others:
            async with phone.get(f"{base}/tenants/{other.tenant_id}") as page:
                assert page.status == 404, other.tenant_id
        for path in ("/audit", "/api/tenants", f"/tenants/{tenant_id}/portal"):
            async with phone.get(base + path) as page:
                assert page.status in (404, 405), path
