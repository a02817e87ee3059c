"""The ledger link: tenants from the ledger's retained MQTT state, reachability via REST.

Tenant entities update from ``{prefix}/ledger/tenant/+/state`` as soon as the ledger
publishes (push). A coordinator polls ``GET /api/tenants`` every minute: it notices
tenants whose retained state went missing.

Fail safe: retained state outlives the ledger, so a stale ``disconnect_due`` must not cut
power. Tenant entities are available only while the ledger is trusted (``trusted``): its
MQTT last will does not say ``offline``, and either it says ``online`` or the last poll
succeeded. While it is not trusted a repair issue says so.

Tamper evidence: the ledger's chain head (``{prefix}/ledger/chain``) is remembered across
restarts; one that contradicts it (chain_watch.py) raises a persistent repair issue and fires
``tenant_metering_ledger_rewound``.
"""

from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
import logging
from typing import Any, Self

from homeassistant.components import mqtt
from homeassistant.components.diagnostics import async_redact_data
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from ..chain_watch import ChainHead, parse_chain_head, rewinds
from ..compat import async_get_entry_device, async_remove_entry_device
from ..const import (
    CHAIN_SAVE_DELAY,
    CHAIN_STORAGE_VERSION,
    CONF_PREFIX,
    CONF_TOKEN,
    CONF_URL,
    DEFAULT_PREFIX,
    DOMAIN,
    EVENT_LEDGER_REWOUND,
    GUARD_STORAGE_VERSION,
    ISSUE_LEDGER_REWOUND,
    ISSUE_LEDGER_UNREACHABLE,
    ISSUE_STATEMENTS_FAILED,
    LEDGER_HEALTH_INTERVAL,
    signal_ledger_availability,
    signal_ledger_chain,
    signal_new_leak_point,
    signal_new_tenant,
    signal_new_tenant_resource,
    signal_tenant_update,
)
from ..energy import EnergyDevice
from ..identifiers import LEDGER_IDENTIFIER, LEDGER_UNIQUE_ID, tenant_id_of, tenant_identifier
from ..resources import Resource
from .backfill import async_backfill_statistics
from .client import (
    LedgerAuthError,
    LedgerClient,
    LedgerError,
    TenantState,
    loads_json,
    parse_tenant_state,
)
from .entities import (
    RESOURCES_WITH_SENSORS,
    TENANT_BINARY_SENSORS,
    TENANT_SENSORS,
    JournalHeadSensor,
    TenantBinarySensor,
    TenantSensor,
    resource_sensor_descriptions,
)
from .guard import CutoffGuardBinarySensor, CutoffsLastHourSensor, LedgerGuard, parse_guard
from .leaks import LeakBinarySensor, LedgerLeaks, parse_leak_state
from .supply import SupplySwitch

_LOGGER = logging.getLogger(__name__)

# A tenant's name and status reason are personal data, as are the HA users linked to them.
TENANT_TO_REDACT = {"name", "status_reason", "ha_user_ids"}

# The ledger's state topics (tenant states, chain head, guard, leak alarms) are subscribed at
# QoS 0: with QoS 1 Home Assistant sends a PUBACK for each, and a PUBACK is what held a
# restore's relay command back: HA's MQTT client leaves Nagle's algorithm on, so a command
# sent just after a PUBACK waited for the broker's delayed ACK (40 ms of the 52 ms from top-up
# to supply restored). QoS 0 can lose a message: the broker drops QoS 0 messages to a client
# whose queue is full (max_queued_messages), and nothing is kept over a reconnect (HA's
# resubscription replays the retained state then). A lost tenant state is put right by the
# 60 s REST poll; a lost chain head, guard or leak alarm only by the ledger's next change of
# it or HA's next reconnect.
LEDGER_STATE_QOS = 0
# The ledger's online/offline is published rarely and never on a restore's way, and a lost
# ``online`` after ``offline`` would leave the ledger untrusted (no cut-off, no restore) until
# the next reconnect: QoS 1, which the broker queues rather than drops.
LEDGER_STATUS_QOS = 1


class LedgerCoordinator(DataUpdateCoordinator[list[TenantState]]):
    """Polls the ledger's tenant list; its success or failure drives the repair issue."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any], client: LedgerClient) -> None:
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} ledger",
            update_interval=timedelta(seconds=LEDGER_HEALTH_INTERVAL),
        )
        self.client = client

    async def _async_update_data(self) -> list[TenantState]:
        try:
            raw = await self.client.tenants()
        except LedgerAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="ledger_auth_failed"
            ) from err
        except LedgerError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="ledger_unreachable",
                translation_placeholders={"url": self.client.url, "error": str(err)},
            ) from err
        await self._report_statement_failures()
        tenants: list[TenantState] = []
        for item in raw:
            try:
                tenants.append(parse_tenant_state(item))
            except ValueError as err:
                _LOGGER.warning("Ignoring malformed tenant from the ledger: %s", err)
        return tenants

    async def _report_statement_failures(self) -> None:
        """A repair issue while the ledger reports statements it could not issue."""
        try:
            health = await self.client.health()
        except LedgerError as err:
            _LOGGER.debug("ledger health not read: %s", err)
            return
        failures = health.get("statement_failures") or []
        if not isinstance(failures, list) or not failures:
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_STATEMENTS_FAILED)
            return
        listed = "; ".join(
            f"{item.get('tenant_id')} from {item.get('period_start')}: {item.get('error')}"
            for item in failures
            if isinstance(item, dict)
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            ISSUE_STATEMENTS_FAILED,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_STATEMENTS_FAILED,
            translation_placeholders={"failures": listed},
        )


class LedgerLink:
    """Runtime of the ``ledger`` config entry (a ``SourceRuntime`` for setup's sake: it
    measures nothing, but has devices, entities and diagnostics like the sources)."""

    platforms: tuple[Platform, ...] = (Platform.BINARY_SENSOR, Platform.SENSOR, Platform.SWITCH)

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], client: LedgerClient, prefix: str
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.client = client
        self.prefix = prefix
        self.coordinator = LedgerCoordinator(hass, entry, client)
        self.tenants: dict[str, TenantState] = {}
        # The tenants' supply switches (switch.py): they carry out the ledger's decisions.
        self.supply_switches: dict[str, SupplySwitch] = {}
        # The ledger's mass-disconnection guard (guard.py), as it publishes it.
        self.guard = LedgerGuard()
        # Points the ledger watches for leaks (leaks.py), as it publishes them.
        self.leaks = LedgerLeaks(
            hass,
            lambda point: async_dispatcher_send(hass, signal_new_leak_point(entry.entry_id), point),
        )
        # The newest chain head seen (chain_watch.py), kept across restarts.
        self.chain: ChainHead | None = None
        self._chain_store: Store[dict[str, Any]] = Store(
            hass, CHAIN_STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.chain"
        )
        self.ledger_online: bool | None = None  # the ledger's MQTT last will; None: not heard
        self._trusted: bool | None = None
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._warned: set[str] = set()
        # Tenants removed by an empty retained payload: a poll answered before the ledger
        # archived them must not bring them back. A new retained state lifts this.
        self._tombstones: set[str] = set()
        # The resources each tenant has entities of: a resource that leaves the tenant's map
        # (a new period) keeps its entities, so its return must not add them twice.
        self.tenant_resources: dict[str, set[Resource]] = {}

    @classmethod
    async def async_create(cls, hass: HomeAssistant, entry: ConfigEntry[Any]) -> Self:
        client = LedgerClient(
            async_get_clientsession(hass), entry.data[CONF_URL], entry.data[CONF_TOKEN]
        )
        return cls(hass, entry, client, entry.data.get(CONF_PREFIX, DEFAULT_PREFIX))

    async def async_prepare(self) -> None:
        """Restore the chain head seen before a restart or reload."""
        # Before 0.4 Home Assistant kept its own count of cut-offs; the ledger's is the one.
        await Store[Any](
            self.hass, GUARD_STORAGE_VERSION, f"{DOMAIN}.{self.entry.entry_id}.cutoffs"
        ).async_remove()
        await self.async_load_chain()
        self.entry.async_on_unload(self.async_save_chain)

    @property
    def trusted(self) -> bool:
        """Whether the tenant state is live: the ledger is up by its last will or its API."""
        if self.ledger_online is False:
            return False
        return self.ledger_online is True or self.coordinator.last_update_success

    async def async_load_chain(self) -> None:
        """Restore the newest chain head seen before a restart or reload."""
        stored = await self._chain_store.async_load()
        if stored is not None:
            try:
                self.chain = parse_chain_head(stored)
            except ValueError as err:
                _LOGGER.warning("Ignoring the stored ledger chain head: %s", err)

    async def async_save_chain(self) -> None:
        """Store the newest chain head seen now (unload): a reload must not forget it."""
        if self.chain is not None:
            await self._chain_store.async_save(self.chain.as_dict())

    @property
    def device_info(self) -> DeviceInfo:
        return DeviceInfo(
            identifiers={LEDGER_IDENTIFIER},
            name="Tenant Metering Ledger",
            manufacturer="Tenant Metering",
            model="Ledger add-on",
            entry_type=dr.DeviceEntryType.SERVICE,
            configuration_url=self.client.url,
        )

    async def async_start(self) -> None:
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.entry.entry_id, **self.device_info
        )
        subscriptions: tuple[tuple[str, Callable[[ReceiveMessage], None], int, str | None], ...] = (
            ("tenant/+/state", self._on_tenant_state, LEDGER_STATE_QOS, "utf-8"),
            ("status", self._on_ledger_status, LEDGER_STATUS_QOS, "utf-8"),
            ("chain", self._on_chain_head, LEDGER_STATE_QOS, "utf-8"),
            ("guard", self._on_guard, LEDGER_STATE_QOS, None),
            ("alarms/+", self._on_leak_state, LEDGER_STATE_QOS, None),
        )
        for topic, handler, qos, encoding in subscriptions:
            self._unsubscribers.append(
                await mqtt.async_subscribe(
                    self.hass,
                    f"{self.prefix}/ledger/{topic}",
                    handler,
                    qos,
                    encoding=encoding,
                )
            )
        self._unsubscribers.append(self.coordinator.async_add_listener(self._on_tenant_list))
        await self.coordinator.async_refresh()
        self._update_trust()
        # New channels get their history from the ledger once HA has set everything up.
        self._unsubscribers.append(async_at_started(self.hass, self._fill_history))

    @callback
    def _fill_history(self, hass: HomeAssistant) -> None:
        self.entry.async_create_background_task(
            hass, self._async_fill_history(), f"{DOMAIN} statistics from the ledger"
        )

    async def _async_fill_history(self) -> None:
        try:
            await async_backfill_statistics(self.hass, self.client)
        except LedgerError as err:
            # The energy-dashboard action tries again; statistics are not worth an alarm.
            _LOGGER.info("No history from the ledger yet: %s", err)

    @callback
    def async_stop(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()
        # The issue belongs to this entry: it must not outlive an unloaded or removed link.
        ir.async_delete_issue(self.hass, DOMAIN, ISSUE_LEDGER_UNREACHABLE)

    @callback
    def _on_guard(self, msg: ReceiveMessage) -> None:
        payload = msg.payload if isinstance(msg.payload, bytes | str) else b""
        if (guard := parse_guard(payload)) is not None:
            self.guard.update(guard)

    @callback
    def _on_leak_state(self, msg: ReceiveMessage) -> None:
        point = msg.topic.rpartition("/")[2]
        payload = msg.payload if isinstance(msg.payload, bytes | str) else b""
        if not payload:
            self.leaks.update(point, None)
        elif (state := parse_leak_state(point, payload)) is not None:
            self.leaks.update(point, state)

    @callback
    def _on_ledger_status(self, msg: ReceiveMessage) -> None:
        self.ledger_online = msg.payload in ("online", b"online")
        self._update_trust()

    @callback
    def _on_chain_head(self, msg: ReceiveMessage) -> None:
        """Compare the ledger's chain head with the newest seen; raise the alarm if it went back.

        The new head is remembered either way, so the alarm is raised once per contradiction
        (the repair issue stays until the landlord dismisses it).
        """
        try:
            head = parse_chain_head(loads_json(msg.payload))
        except ValueError as err:
            # "/" is in no tenant id: a warning of its own.
            self._warn_once("ledger/chain", "Ignoring a malformed ledger chain head: %s", err)
            return
        found = rewinds(self.chain, head)
        self.chain = head
        self._chain_store.async_delay_save(head.as_dict, CHAIN_SAVE_DELAY)
        if found:
            details = "; ".join(str(rewind) for rewind in found)
            _LOGGER.error("The ledger's records went back or changed behind its back: %s", details)
            for rewind in found:
                self.hass.bus.async_fire(
                    EVENT_LEDGER_REWOUND,
                    {"series": rewind.series, "seen": rewind.seen, "now": rewind.now},
                )
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                ISSUE_LEDGER_REWOUND,
                is_fixable=False,
                is_persistent=True,
                severity=ir.IssueSeverity.CRITICAL,
                translation_key=ISSUE_LEDGER_REWOUND,
                translation_placeholders={"details": details},
            )
        async_dispatcher_send(self.hass, signal_ledger_chain(self.entry.entry_id))

    @callback
    def _update_trust(self) -> None:
        """Follow a change of ``trusted``: the repair issue and every tenant entity."""
        trusted = self.trusted
        if trusted == self._trusted:
            return
        self._trusted = trusted
        if trusted:
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_LEDGER_UNREACHABLE)
        else:
            _LOGGER.warning(
                "The ledger at %s is not reachable; tenants are unavailable", self.client.url
            )
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                ISSUE_LEDGER_UNREACHABLE,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_LEDGER_UNREACHABLE,
                translation_placeholders={"url": self.client.url},
            )
        async_dispatcher_send(self.hass, signal_ledger_availability(self.entry.entry_id))

    @callback
    def _warn_once(self, subject: str, message: str, *args: Any) -> None:
        """Warn about a tenant (or the chain head) once, then only at debug level."""
        level = logging.DEBUG if subject in self._warned else logging.WARNING
        self._warned.add(subject)
        _LOGGER.log(level, message, *args)

    @callback
    def _on_tenant_state(self, msg: ReceiveMessage) -> None:
        parts = msg.topic.split("/")
        topic_tenant = parts[-2]
        if not msg.payload:
            self._tombstones.add(topic_tenant)
            self._remove_tenant(topic_tenant)
            return
        try:
            tenant = parse_tenant_state(loads_json(msg.payload))
        except ValueError as err:
            self._warn_once(
                topic_tenant, "Ignoring malformed state of tenant %s: %s", topic_tenant, err
            )
            return
        if tenant.tenant_id != topic_tenant:
            self._warn_once(
                topic_tenant,
                "Ignoring state of tenant %s published on the topic of tenant %s",
                tenant.tenant_id,
                topic_tenant,
            )
            return
        self._tombstones.discard(topic_tenant)
        self._set_tenant(tenant)

    @callback
    def _set_tenant(self, tenant: TenantState) -> None:
        known = self.tenants.get(tenant.tenant_id)
        if known == tenant:
            return
        self.tenants[tenant.tenant_id] = tenant
        with_entities = self.tenant_resources.setdefault(tenant.tenant_id, set())
        new_resources = tenant.resources.keys() - with_entities
        with_entities |= new_resources
        if known is None:
            async_dispatcher_send(
                self.hass, signal_new_tenant(self.entry.entry_id), tenant.tenant_id
            )
        else:
            if known.name != tenant.name:
                self._rename_tenant_device(tenant)
            for resource in new_resources:
                async_dispatcher_send(
                    self.hass,
                    signal_new_tenant_resource(self.entry.entry_id),
                    tenant.tenant_id,
                    resource,
                )
            async_dispatcher_send(
                self.hass, signal_tenant_update(self.entry.entry_id, tenant.tenant_id)
            )

    @callback
    def _rename_tenant_device(self, tenant: TenantState) -> None:
        device = async_get_entry_device(
            self.hass, self.entry.entry_id, tenant_identifier(tenant.tenant_id)
        )
        if device is not None:
            dr.async_get(self.hass).async_update_device(device.id, name=tenant.name)

    @callback
    def _remove_tenant(self, tenant_id: str) -> None:
        self.tenants.pop(tenant_id, None)
        self.tenant_resources.pop(tenant_id, None)
        device = async_get_entry_device(
            self.hass, self.entry.entry_id, tenant_identifier(tenant_id)
        )
        if device is not None:
            async_remove_entry_device(self.hass, self.entry.entry_id, device)

    @callback
    def _on_tenant_list(self) -> None:
        """Reconcile with the ledger's tenant list: add the unknown, drop the deleted."""
        self._update_trust()
        if not self.coordinator.last_update_success or self.coordinator.data is None:
            return
        listed = {
            tenant.tenant_id: tenant
            for tenant in self.coordinator.data
            if tenant.tenant_id not in self._tombstones
        }
        for tenant_id in set(self.tenants) - set(listed):
            self._remove_tenant(tenant_id)
        for tenant_id, tenant in listed.items():
            known = self.tenants.get(tenant_id)
            # Retained MQTT state is at least as fresh as a poll; only fill what it lacks.
            if known is None or (
                tenant.updated_at is not None
                and known.updated_at is not None
                and tenant.updated_at > known.updated_at
            ):
                self._set_tenant(tenant)
        registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            device_tenant = tenant_id_of(device.identifiers)
            if device_tenant is not None and device_tenant not in listed:
                async_remove_entry_device(self.hass, self.entry.entry_id, device)

    # -- SourceRuntime ---------------------------------------------------------------------

    def async_add_platform_entities(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add the ledger device's own entities once, and each tenant's as it appears."""
        if entities := ledger_entities(self, platform):
            async_add_entities(entities)

        @callback
        def _add_tenant_entities(tenant_id: str) -> None:
            if entities := tenant_entities(self, tenant_id, platform):
                async_add_entities(entities)

        self.entry.async_on_unload(
            async_dispatcher_connect(
                self.hass, signal_new_tenant(self.entry.entry_id), _add_tenant_entities
            )
        )

        @callback
        def _add_resource_entities(tenant_id: str, resource: Resource) -> None:
            if entities := tenant_resource_entities(self, tenant_id, resource, platform):
                async_add_entities(entities)

        self.entry.async_on_unload(
            async_dispatcher_connect(
                self.hass, signal_new_tenant_resource(self.entry.entry_id), _add_resource_entities
            )
        )
        for tenant_id in self.tenants:
            _add_tenant_entities(tenant_id)
        if platform is not Platform.BINARY_SENSOR:
            return

        @callback
        def _add_leak_sensor(point: str) -> None:
            async_add_entities(
                [LeakBinarySensor(self.leaks, point, LEDGER_UNIQUE_ID, self.device_info)]
            )

        self.entry.async_on_unload(
            async_dispatcher_connect(
                self.hass, signal_new_leak_point(self.entry.entry_id), _add_leak_sensor
            )
        )
        for point in self.leaks.states:
            _add_leak_sensor(point)

    def known_device_identifiers(self) -> set[str]:
        return {LEDGER_UNIQUE_ID} | {tenant_identifier(tenant_id)[1] for tenant_id in self.tenants}

    def diagnostics(self) -> dict[str, Any]:
        return {
            "ledger": {
                "url": self.client.url,
                "mqtt_status": self.ledger_online,
                "last_poll_success": self.coordinator.last_update_success,
                "tenants": {
                    tenant_id: async_redact_data(
                        {key: _diagnostic(value) for key, value in asdict(tenant).items()},
                        TENANT_TO_REDACT,
                    )
                    for tenant_id, tenant in self.tenants.items()
                },
            }
        }

    def energy_devices(self) -> list[EnergyDevice]:
        """None: the ledger measures nothing itself."""
        return []


def _diagnostic(value: Any) -> Any:
    """A tenant-state value as diagnostics show it: figures as their exact text."""
    if value is None or isinstance(value, bool | tuple):
        return value
    if isinstance(value, dict):
        return {str(key): _diagnostic(item) for key, item in value.items()}
    return str(value)


def ledger_entities(link: LedgerLink, platform: Platform) -> list[Entity]:
    """The ledger device's own entities on ``platform``: the cut-off guard, the chain head."""
    if platform is Platform.SENSOR:
        return [
            CutoffsLastHourSensor(link.guard, LEDGER_UNIQUE_ID, link.device_info),
            JournalHeadSensor(link),
        ]
    if platform is Platform.BINARY_SENSOR:
        return [CutoffGuardBinarySensor(link.guard, LEDGER_UNIQUE_ID, link.device_info)]
    return []


def tenant_entities(link: LedgerLink, tenant_id: str, platform: Platform) -> list[Entity]:
    """One tenant's entities on ``platform``."""
    if platform is Platform.SENSOR:
        return [TenantSensor(link, tenant_id, description) for description in TENANT_SENSORS] + [
            entity
            for resource in sorted(link.tenant_resources.get(tenant_id, ()))
            for entity in tenant_resource_entities(link, tenant_id, resource, platform)
        ]
    if platform is Platform.BINARY_SENSOR:
        return [
            TenantBinarySensor(link, tenant_id, description)
            for description in TENANT_BINARY_SENSORS
        ]
    if platform is Platform.SWITCH:
        return [SupplySwitch(link, tenant_id)]
    return []


def tenant_resource_entities(
    link: LedgerLink, tenant_id: str, resource: Resource, platform: Platform
) -> list[Entity]:
    """A tenant's sensors of ``resource`` beside electricity (water, gas, heat)."""
    if platform is not Platform.SENSOR or resource not in RESOURCES_WITH_SENSORS:
        return []
    return [
        TenantSensor(link, tenant_id, description)
        for description in resource_sensor_descriptions(resource)
    ]
