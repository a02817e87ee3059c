"""A real Home Assistant for the demo, set up the way a user would, through HA's own APIs.

Onboarding runs through the HTTP onboarding API, the tenant logins through the websocket
API, MQTT and Tenant Metering through config flows over REST: so the demo breaks where a
user's set-up would break, and each step is reported on its own (✓/✗) without stopping
the others. HA runs with ``--skip-pip``: it never installs packages at runtime; the few it
needs beyond the test venv are pinned in requirements/demo.txt.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import json
from pathlib import Path
import secrets
import shutil
import subprocess
import sys
import time
from typing import Any, Final

import aiohttp
import yaml

from custom_components.tenant_metering.identifiers import (
    KEY_ENERGY,
    adopted_point_id,
    channel_unique_id,
    modbus_device_id,
)
from tenant_sim import pulse_counters
from tenant_sim.building import (
    CURRENCY,
    HEAT_PROFILE,
    HEAT_SLAVE_ID,
    MODBUS_CHANNELS,
    MODBUS_GATEWAY_NAME,
    MODBUS_GATEWAY_UID,
    MODBUS_PROFILE,
    MODBUS_SLAVE_ID,
    PREFIX,
    TIMEZONE,
    Building,
)
from tenant_sim.progress import Progress

REPO_ROOT = Path(__file__).resolve().parent.parent
DOMAIN: Final = "tenant_metering"
START_TIMEOUT: Final = 180.0
ENTITIES_TIMEOUT: Final = 60.0
DASHBOARD: Final = "tenant-metering"
"""The url path of the integration's "Tenants" dashboard."""
NOTIFY: Final = "notify.persistent_notification"
"""Where the demo's automations send the landlord's messages: the notifications panel of HA's
sidebar, which is the landlord's own here because only the landlord logs in to this Home
Assistant (tenants use the ledger's portal). A real building picks the landlord's phone."""

# Only what the demo shows, instead of default_config (which would load dozens of
# integrations, some wanting packages this venv does not have).
_COMPONENTS: Final = (
    "config", "frontend", "history", "logbook", "energy", "recorder", "notify",
    "persistent_notification", "search", "system_health",
)  # fmt: skip


def configuration(building: Building, port: int) -> dict[str, Any]:
    """configuration.yaml: the building's location and units, loopback HTTP, no extras."""
    config: dict[str, Any] = {
        "homeassistant": {
            "name": building.name,
            "latitude": 38.7071,
            "longitude": -9.1355,
            "elevation": 20,
            "unit_system": "metric",
            "time_zone": TIMEZONE,
            "currency": CURRENCY,
            "country": "PT",
            "internal_url": f"http://127.0.0.1:{port}",
        },
        "http": {"server_host": "127.0.0.1", "server_port": port},
        "lovelace": {"mode": "storage"},
        "automation": "!include automations.yaml",
        "logger": {
            "default": "warning",
            "logs": {"custom_components.tenant_metering": "info"},
        },
    }
    config.update(dict.fromkeys(_COMPONENTS))
    return config


def _dump_configuration(config: Mapping[str, Any]) -> str:
    text = yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True)
    # PyYAML quotes the tag; HA wants it bare.
    return text.replace("'!include automations.yaml'", "!include automations.yaml")


class HomeAssistantError(RuntimeError):
    """A step of the HA set-up failed; the message says which call answered what."""


class HomeAssistantDemo:
    """One HA process with its config dir, logins and the Tenant Metering set-up."""

    def __init__(
        self,
        config_dir: Path,
        building: Building,
        *,
        port: int,
        mqtt_port: int,
        modbus_port: int,
        ledger_url: str,
        ledger_token: str,
        register_water: Callable[[Mapping[str, str]], Awaitable[None]],
        progress: Progress,
    ) -> None:
        """``register_water`` registers the water counters in the ledger under the point ids
        given (counter's point id in the building → ``ha:…``), before HA sends a reading."""
        self.config_dir = config_dir
        self.building = building
        self.port = port
        self.mqtt_port = mqtt_port
        self.modbus_port = modbus_port
        self.ledger_url = ledger_url
        self.ledger_token = ledger_token
        self.register_water = register_water
        self.progress = progress
        self.base_url = f"http://127.0.0.1:{port}"
        self.url: str | None = None
        """Set once HA answers; None when it never came up."""
        self.passwords: dict[str, str] = {}
        self.entities: dict[str, str] = {}
        """unique id → entity id of the integration's entities."""
        self.forwards_breakers = False
        """True once the MQTT hub entry is set up: HA forwards breaker readings to the ledger."""
        self.forwards_modbus = False
        """True once the Modbus gateway and its meter are set up: HA polls and forwards them."""
        self.forwards_heat = False
        """True once the heat meter is set up on the gateway: HA polls and forwards it."""
        self.water_points: dict[str, str] = {}
        """Each water counter's point id in the building → the ``ha:…`` point it is
        registered as in the ledger; empty until then."""
        self.adopts_water = False
        """True once every water counter is adopted: HA forwards their readings."""
        self.dashboard_published = False
        self.log_path = config_dir / "home-assistant.out"
        self._process: subprocess.Popen[bytes] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._gateway_entry_id: str | None = None

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self, stop: asyncio.Event) -> None:
        """Start and set up HA; every failure is reported, none is raised."""
        attempt = self.progress.attempt
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        if not await attempt("Home Assistant configuration written", self._write_config()):
            return
        version = _ha_version()
        if not await attempt(f"Home Assistant {version} on {self.base_url}", self._launch(stop)):
            return
        self.url = self.base_url
        if not await attempt("onboarding done, landlord login created", self._onboard()):
            return
        await attempt(f"MQTT connected to 127.0.0.1:{self.mqtt_port}", self._setup_mqtt())
        self.forwards_breakers = await attempt(
            "Tenant Metering: MQTT breakers hub added", self._setup_hub()
        )
        await attempt("Tenant Metering: ledger linked", self._setup_ledger_link())
        self.forwards_modbus = await attempt(
            f"Tenant Metering: Modbus gateway 127.0.0.1:{self.modbus_port} and its "
            f"{MODBUS_CHANNELS}-channel meter added",
            self._setup_modbus(),
        )
        # Side by side: the water waits for the ledger, the heat meter for the gateway to set
        # itself up again for its first meter.
        self.adopts_water, self.forwards_heat = await asyncio.gather(
            attempt(
                f"Tenant Metering: the {len(self.building.water_meters)} rooms' pulse counters "
                "adopted as water points, registered in the ledger",
                self._adopt_water(),
            ),
            attempt(
                f"Tenant Metering: heat meter ({HEAT_PROFILE}) as slave {HEAT_SLAVE_ID} of the "
                "gateway",
                self._setup_heat_meter(),
            ),
        )
        entities_ready = await attempt(
            "Tenant Metering: breaker and tenant entities created", self._wait_for_entities()
        )
        await attempt("blueprints installed", self._install_blueprints())
        if entities_ready:
            await attempt("automations created from the blueprints", self._automations())
            self.dashboard_published = await attempt(
                '"Tenants" dashboard published', self._publish_dashboards()
            )
            await attempt(
                "energy dashboard: every channel under the incomer, the incomer as the grid, "
                "the water counters",
                self._register_energy_devices(),
            )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                await asyncio.to_thread(self._process.wait, 60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                await asyncio.to_thread(self._process.wait)
        self._process = None

    async def _write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(
            _dump_configuration(configuration(self.building, self.port)), encoding="utf-8"
        )
        (self.config_dir / "automations.yaml").write_text("[]\n", encoding="utf-8")
        _skip_core_config_step(self.config_dir / ".storage")
        # The integration under test, not a copy: edits show up on the next demo start.
        custom = self.config_dir / "custom_components"
        custom.mkdir(exist_ok=True)
        link = custom / DOMAIN
        if not link.exists():
            link.symlink_to(REPO_ROOT / "custom_components" / DOMAIN, target_is_directory=True)

    async def _launch(self, stop: asyncio.Event) -> None:
        process = self._spawn()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not stop.is_set():
            if process.poll() is not None:
                raise HomeAssistantError(f"exited with {process.returncode}; see {self.log_path}")
            try:
                status, _ = await self._request("GET", "/api/onboarding", auth=False)
            except aiohttp.ClientError:
                status = 0
            if status == 200:
                return
            await asyncio.sleep(0.5)
        raise HomeAssistantError(f"not answering after {START_TIMEOUT:.0f} s; see {self.log_path}")

    def _spawn(self) -> "subprocess.Popen[bytes]":
        argv = [
            sys.executable, "-m", "homeassistant", "--config", str(self.config_dir),
            "--skip-pip", "--log-file", str(self.config_dir / "home-assistant.log"),
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our interpreter, HA's module
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.config_dir,
                start_new_session=True,  # Ctrl-C reaches the demo, which stops HA in order
            )
        return self._process

    # -- HTTP and websocket ----------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, body: Any = None, *, auth: bool = True, form: bool = False
    ) -> tuple[int, Any]:
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self._token}"} if auth else {}
        kwargs: dict[str, Any] = {"data": body} if form else {"json": body}
        async with self._session.request(
            method, self.base_url + path, headers=headers, **kwargs
        ) as reply:
            text = await reply.text()
            try:
                return reply.status, json.loads(text) if text else None
            except ValueError:
                return reply.status, text

    async def _ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        status, reply = await self._request(method, path, body, **kwargs)
        if status >= 400:
            raise HomeAssistantError(f"{method} {path}: HTTP {status} {str(reply)[:300]}")
        return reply

    async def _ws(self, *commands: dict[str, Any]) -> list[Any]:
        """Run websocket commands as the owner; returns their results, raises on an error."""
        assert self._session is not None
        results = []
        async with self._session.ws_connect(self.base_url + "/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self._token})
            if (await ws.receive_json())["type"] != "auth_ok":
                raise HomeAssistantError("websocket authentication refused")
            for number, command in enumerate(commands, start=1):
                await ws.send_json({"id": number, **command})
                reply = await ws.receive_json()
                while reply.get("id") != number or reply.get("type") != "result":
                    reply = await ws.receive_json()
                if not reply["success"]:
                    raise HomeAssistantError(f"{command['type']}: {reply['error']}")
                results.append(reply["result"])
        return results

    # -- onboarding and users --------------------------------------------------------------------

    async def _onboard(self) -> None:
        """The owner (the landlord), then the remaining onboarding steps, as the UI does."""
        landlord = next(login for login in self.building.logins if login.tenant_id is None)
        password = _password()
        client_id = self.base_url + "/"
        created = await self._ok(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": landlord.name,
                "username": landlord.username,
                "password": password,
                "language": "en",
            },
            auth=False,
        )
        tokens = await self._ok(
            "POST",
            "/auth/token",
            {
                "grant_type": "authorization_code",
                "code": created["auth_code"],
                "client_id": client_id,
            },
            auth=False,
            form=True,
        )
        self._token = tokens["access_token"]
        self.passwords[landlord.username] = password
        await self._ok("POST", "/api/onboarding/analytics")
        await self._ok(
            "POST",
            "/api/onboarding/integration",
            {"client_id": client_id, "redirect_uri": client_id + "?auth_callback=1"},
        )

    # -- config flows ----------------------------------------------------------------------------

    async def _flow(
        self,
        handler: str | tuple[str, str],
        *steps: dict[str, Any],
        path: str = "/api/config/config_entries/flow",
        sections: Mapping[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Start a config (or subentry) flow and answer its steps; the created entry.

        ``sections`` answers the forms' collapsible sections by name, as HA's frontend
        sends them: only where the form shown has that section.
        """
        result: dict[str, Any] = await self._ok("POST", path, {"handler": handler})
        for step in steps:
            if result.get("type") not in ("form", "menu"):
                break
            shown = {
                field["name"]
                for field in result.get("data_schema") or []
                if field.get("type") == "expandable"
            }
            answer = {
                **{name: values for name, values in (sections or {}).items() if name in shown},
                **step,
            }
            result = await self._ok("POST", f"{path}/{result['flow_id']}", answer)
        if result.get("type") != "create_entry":
            detail = result.get("errors") or result.get("reason") or result.get("step_id")
            raise HomeAssistantError(f"{handler} config flow ended with {detail}")
        return result

    async def _setup_mqtt(self) -> None:
        # Current HA releases ask TLS and transport in an "other_settings" section of the
        # broker form (2025.4's has none): plain TCP, no certificates.
        plain = {"set_client_cert": False, "set_ca_cert": "off", "transport": "tcp"}
        await self._flow(
            "mqtt",
            {"broker": "127.0.0.1", "port": self.mqtt_port},
            sections={"other_settings": plain},
        )

    async def _setup_hub(self) -> None:
        await self._flow(DOMAIN, {"next_step_id": "mqtt_hub"}, {"prefix": PREFIX})

    async def _setup_ledger_link(self) -> None:
        await self._flow(
            DOMAIN,
            {"next_step_id": "ledger"},
            {"url": self.ledger_url, "token": self.ledger_token},
        )

    async def _setup_modbus(self) -> None:
        """The gateway (a config entry), then the meter on it (a config subentry)."""
        created = await self._flow(
            DOMAIN,
            {"next_step_id": "modbus_gateway"},
            {"name": MODBUS_GATEWAY_NAME, "transport": "tcp"},
            {"host": "127.0.0.1", "port": self.modbus_port},
        )
        self._gateway_entry_id = created["result"]["entry_id"]
        channels = sorted(self.building.modbus_channels, key=lambda c: c.channel)
        incomer = [str(c.channel) for c in channels if c.circuit.is_incomer]
        common = [str(c.channel) for c in channels if c.circuit.space_id is None and c.circuit.load]
        await self._flow(
            (created["result"]["entry_id"], "meter"),
            {"name": "Ground floor meter", "profile": MODBUS_PROFILE, "slave_id": MODBUS_SLAVE_ID},
            {"channel_count": str(MODBUS_CHANNELS)},
            {
                "names": [c.circuit.name for c in channels],
                "incomer": incomer[0],
                "common_areas": common,
                "rated_current_a": 32,
                "incomer_rated_current_a": 63,
            },
            path="/api/config/config_entries/subentries/flow",
        )

    async def _meter_loaded(self, slave_id: int) -> None:
        """Wait until the gateway, set up again for a new meter, has its entities: only then
        does it see the next meter added (its update listener is back)."""
        await self._registry_entries(
            {channel_unique_id(modbus_device_id(MODBUS_GATEWAY_UID, slave_id), "1", KEY_ENERGY)},
            f"the meter at slave {slave_id}",
        )

    async def _registry_entries(self, unique_ids: set[str], what: str) -> dict[str, Any]:
        """unique id → entity registry entry of each of ``unique_ids``, once all exist."""
        deadline = time.monotonic() + ENTITIES_TIMEOUT
        while True:
            (entries,) = await self._ws({"type": "config/entity_registry/list"})
            found = {e["unique_id"]: e for e in entries if e.get("unique_id") in unique_ids}
            if len(found) == len(unique_ids):
                return found
            if time.monotonic() > deadline:
                raise HomeAssistantError(
                    f"after {ENTITIES_TIMEOUT:.0f} s {len(found)} of {len(unique_ids)} "
                    f"entities of {what}"
                )
            await asyncio.sleep(0.5)

    async def _setup_heat_meter(self) -> None:
        """The shared heater's heat meter: a second meter (subentry) on the same gateway."""
        if self._gateway_entry_id is None:
            raise HomeAssistantError("no Modbus gateway to add the heat meter to")
        await self._meter_loaded(MODBUS_SLAVE_ID)
        await self._flow(
            (self._gateway_entry_id, "meter"),
            {"name": "Heat meter", "profile": HEAT_PROFILE, "slave_id": HEAT_SLAVE_ID},
            {"names": [self.building.heat_meter.name], "rated_current_a": 1},
            path="/api/config/config_entries/subentries/flow",
        )
        await self._meter_loaded(HEAT_SLAVE_ID)

    async def _adopt_water(self) -> None:
        """What an installer does with the ESPHome pulse counters MQTT discovery brought in:
        register each as a water point of its room in the ledger (under the ``ha:…`` id the
        integration shows), then adopt it, so its first reading already has a home."""
        sensors = await self._water_sensors()
        self.water_points = {
            point: adopted_point_id(registry_id) for point, (_, registry_id) in sensors.items()
        }
        await self.register_water(self.water_points)
        await asyncio.gather(
            *(
                self._flow(
                    DOMAIN,
                    {"next_step_id": "adopted"},
                    {"sensor": sensors[meter.point_id][0], "resource": "water", "name": meter.name},
                )
                for meter in self.building.water_meters
            )
        )

    async def _water_sensors(self) -> dict[str, tuple[str, str]]:
        """Each counter's point id → its sensor's (entity id, registry id), once MQTT
        discovery has created all of them."""
        wanted = {pulse_counters.unique_id(m): m.point_id for m in self.building.water_meters}
        found = await self._registry_entries(set(wanted), "the water counters' MQTT discovery")
        return {wanted[uid]: (e["entity_id"], e["id"]) for uid, e in found.items()}

    async def _wait_for_entities(self) -> None:
        """unique id → entity id of our entities, once every breaker and tenant has them."""
        wanted = {f"tenant_{t.tenant_id}_status" for t in self.building.tenants}
        deadline = time.monotonic() + ENTITIES_TIMEOUT
        while True:
            (entries,) = await self._ws({"type": "config/entity_registry/list"})
            ours = {e["unique_id"]: e["entity_id"] for e in entries if e.get("platform") == DOMAIN}
            relays = [uid for uid in ours if uid.endswith("relay")]
            if wanted <= ours.keys() and len(relays) >= len(self.building.breakers):
                self.entities = ours
                return
            if time.monotonic() > deadline:
                missing = sorted(wanted - ours.keys())
                raise HomeAssistantError(
                    f"after {ENTITIES_TIMEOUT:.0f} s: {len(relays)} relay switches, "
                    f"tenants missing: {', '.join(missing) or 'none'}"
                )
            await asyncio.sleep(1)

    # -- blueprints, automations, dashboards -----------------------------------------------------

    async def _install_blueprints(self) -> None:
        source = REPO_ROOT / "blueprints" / "automation" / DOMAIN
        target = self.config_dir / "blueprints" / "automation" / DOMAIN
        target.mkdir(parents=True, exist_ok=True)
        for blueprint in sorted(source.glob("*.yaml")):
            shutil.copy2(blueprint, target / blueprint.name)

    async def _automations(self) -> None:
        """One automation per tenant and blueprint that fits its plan, plus a breaker alert."""
        entities = self.entities
        automations = [
            _automation(
                "breaker_alert",
                "Breakers offline or failing",
                {
                    "relay_switches": sorted(v for k, v in entities.items() if k.endswith("relay")),
                    "notify_service": NOTIFY,
                },
            )
        ]
        for tenant in self.building.tenants:

            def entity(key: str, tenant_id: str = tenant.tenant_id) -> str:
                return entities[f"tenant_{tenant_id}_{key}"]

            automations.append(
                _automation(
                    "arrears_cutoff",
                    f"{tenant.name}: arrears cut-off and restore",
                    {
                        "status_sensor": entity("status"),
                        "balance_sensor": entity("balance"),
                        "supply_switch": entity("supply"),
                        "notify_service": NOTIFY,
                    },
                )
            )
            plan = next(p for p in self.building.plans if p["id"] == tenant.plan_id)
            if plan["kind"] == "prepaid":
                automations.append(
                    _automation(
                        "low_balance_alarm",
                        f"{tenant.name}: low balance",
                        {
                            "status_sensor": entity("status"),
                            "balance_sensor": entity("balance"),
                            "period_energy_sensor": entity("period_energy"),
                            "period_cost_sensor": entity("period_cost"),
                            "notify_service": NOTIFY,
                        },
                    )
                )
            if "quota_kwh" in plan:
                automations.append(
                    _automation(
                        "quota_warning",
                        f"{tenant.name}: quota warning",
                        {
                            "quota_remaining_sensor": entity("quota_remaining"),
                            "notify_service": NOTIFY,
                        },
                    )
                )
        (self.config_dir / "automations.yaml").write_text(
            yaml.safe_dump(automations, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        await self._ok("POST", "/api/services/automation/reload", {})
        states = await self._ok("GET", "/api/states")
        loaded = [s for s in states if s["entity_id"].startswith("automation.")]
        if len(loaded) < len(automations):
            raise HomeAssistantError(
                f"{len(loaded)} of {len(automations)} automations loaded; see "
                f"{self.config_dir / 'home-assistant.log'}"
            )

    async def _publish_dashboards(self) -> None:
        services = await self._ok("GET", "/api/services")
        ours: dict[str, Any] = next((s["services"] for s in services if s["domain"] == DOMAIN), {})
        if "publish_dashboards" not in ours:
            raise HomeAssistantError(f"the integration has no {DOMAIN}.publish_dashboards yet")
        await self._ok("POST", f"/api/services/{DOMAIN}/publish_dashboards", {})

    async def _register_energy_devices(self) -> None:
        await self._ok(
            "POST", f"/api/services/{DOMAIN}/register_energy_devices?return_response", {}
        )


def _skip_core_config_step(storage: Path) -> None:
    """Mark onboarding's location step done before HA starts (configuration.yaml sets it).

    Finishing that step over the API would also start set-up flows for the weather, radio
    and text-to-speech integrations onboarding adds, which want packages the demo does not
    install (``--skip-pip``). The other steps still go through the onboarding API.
    """
    storage.mkdir(parents=True, exist_ok=True)
    onboarding = {
        "version": 4,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": ["core_config"]},
    }
    (storage / "onboarding").write_text(json.dumps(onboarding, indent=2), encoding="utf-8")


def _automation(blueprint: str, alias: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    slug = "".join(c if c.isalnum() else "_" for c in alias.lower()).strip("_")
    return {
        "id": f"demo_{blueprint}_{slug}"[:64],
        "alias": alias,
        "description": "Created by the Tenant Metering demo",
        "use_blueprint": {"path": f"{DOMAIN}/{blueprint}.yaml", "input": dict(inputs)},
    }


def _password() -> str:
    """A fresh password per run: printed once, stored nowhere but the demo's data dir."""
    return secrets.token_urlsafe(9)


def _ha_version() -> str:
    from homeassistant.const import __version__  # noqa: PLC0415 - only for the banner

    return __version__
