"""Inside Home Assistant's Supervisor: options, the MQTT broker it assigns, and discovery.

The Supervisor gives the add-on ``SUPERVISOR_TOKEN``, writes the options to
``/data/options.json``, hands out the broker's address and credentials on
``GET /services/mqtt`` (``services: [mqtt:need]``), and forwards ``POST /discovery`` to Home
Assistant, which offers the Tenant Metering integration with the URL and token we send.
"""

from dataclasses import dataclass
import json
import logging
from pathlib import Path
import secrets
from typing import Any

import aiohttp
import sqlalchemy as sa

from tenant_ledger.db import access_store
from tenant_ledger.mqtt import BrokerSettings
from tenant_ledger.operations import Action, create_token

_LOGGER = logging.getLogger(__name__)
DEFAULT_URL = "http://supervisor"
DISCOVERY_SERVICE = "tenant_metering"
HA_TOKEN_NAME = "home-assistant"  # noqa: S105 - a token name, not a secret
HA_TOKEN_FILE = "home-assistant-token"  # noqa: S105 - a file name, not a secret
_TIMEOUT = aiohttp.ClientTimeout(total=30)


class SupervisorError(RuntimeError):
    """The Supervisor refused or could not be reached."""


@dataclass(frozen=True, kw_only=True)
class Supervisor:
    url: str
    token: str

    async def _call(self, method: str, path: str, payload: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.request(method, f"{self.url}{path}", json=payload, headers=headers) as reply,
        ):
            body = await reply.json(content_type=None)
            if reply.status != 200 or not isinstance(body, dict) or body.get("result") != "ok":
                raise SupervisorError(f"{method} {path}: HTTP {reply.status} {body!r}")
            return body.get("data", {})

    async def mqtt_broker(self) -> BrokerSettings:
        data = await self._call("GET", "/services/mqtt")
        return BrokerSettings(
            host=data["host"],
            port=int(data["port"]),
            username=data.get("username") or None,
            password=data.get("password") or None,
        )

    async def announce(self, url: str, token: str) -> None:
        payload = {"service": DISCOVERY_SERVICE, "config": {"url": url, "token": token}}
        await self._call("POST", "/discovery", payload)
        _LOGGER.info("announced the ledger at %s to Home Assistant", url)


def read_options(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "options.json"
    if not path.exists():
        return {}
    options: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return options


def home_assistant_token(connection: sa.Connection, data_dir: Path, now_us: int) -> str:
    """The operator token Home Assistant gets through discovery, kept across restarts.

    Only its hash is in the database, so the token itself lives in a 0600 file beside it.
    """
    path = data_dir / HA_TOKEN_FILE
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if access_store.token_known(connection, token, active_only=True):
            return token
    action = Action(actor="supervisor", reason="token for Home Assistant discovery", now_us=now_us)
    access_store.revoke_tokens_named_like(connection, HA_TOKEN_NAME, now_us)
    name = f"{HA_TOKEN_NAME}-{now_us}"
    token = create_token(
        connection, action, name=name, role="operator", token=secrets.token_urlsafe(32)
    )
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(token, encoding="utf-8")
    return token
