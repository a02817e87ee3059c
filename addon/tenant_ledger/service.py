"""The running ledger: one database writer thread, the readings pipeline and state publishing.

All database work runs on a single thread, one transaction per job. That makes the journal's
hash chain and the rating cursors single-writer by construction, and lets readings from MQTT
and from the API share batches (one commit, one fsync, for many messages).
"""

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
import functools
import logging
import secrets
from typing import Any

import sqlalchemy as sa

from tenant_ledger import chain_head, integrity
from tenant_ledger.billing.night_flow import NightWindow
from tenant_ledger.billing.statement_document import Issuer
from tenant_ledger.billing.timestamps import US_PER_SECOND, from_us
from tenant_ledger.chain_head import SeriesHead
from tenant_ledger.clock import Clock, wall_clock_us
from tenant_ledger.config import LedgerConfig
from tenant_ledger.db import access_store, catalog as catalog_store, engine as db_engine
from tenant_ledger.db.catalog import Catalog, load_catalog
from tenant_ledger.db.readings_store import (
    Quarantined,
    StoreResult,
    park_message,
    park_readings,
    release_quarantined,
    store_messages,
)
from tenant_ledger.errors import LedgerError
from tenant_ledger.i18n import Formats
from tenant_ledger.journal import Error
from tenant_ledger.ledger_key import KeyFileError, LedgerKey
from tenant_ledger.mqtt import Ack, LedgerMqtt
from tenant_ledger.operations import Action, archive_tenant, create_token, hash_token, leaks
from tenant_ledger.operations.leaks import LeakStates, detect_leaks, leak_states
from tenant_ledger.rater import SYSTEM_ACTOR, rate_points
from tenant_ledger.readings_in import IncomingReading, PayloadError, decode_readings
from tenant_ledger.standing_run import post_daily_standing
from tenant_ledger.statement_run import DuePeriod, Splits, due_periods, issue_statement
from tenant_ledger.tenant_state import building_guard, evaluate_and_record

_LOGGER = logging.getLogger(__name__)
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret
_MAX_BATCH_MESSAGES = 100  # one transaction stays short, so a top-up never waits long
_RETRY_SECONDS = 1.0
_BATCH_ATTEMPTS = 3  # then the batch's messages are stored one by one
_CHAIN_PUBLISH_SECONDS = 1.0  # the chain head goes out at most this often (the newest one)


@dataclass(frozen=True, slots=True)
class _Delivery:
    """Readings waiting for the writer: raw MQTT bytes (with their ack) or parsed API readings."""

    payload: bytes | Sequence[IncomingReading]
    ack: Ack | None
    done: "asyncio.Future[StoreResult] | None"


@dataclass(frozen=True, kw_only=True, slots=True)
class StatementFailure:
    """A statement the run could not issue, as health and Home Assistant report it."""

    tenant_id: str
    period_start: str
    error: str
    since_us: int


_CUTOFF_STATUSES = frozenset({"disconnect_due", "disconnected"})
READ_ONLY_REASON = "ledger integrity check failed; cut-offs suspended"
READ_ONLY_MESSAGE = "the ledger's records failed verification; ledger is read-only"


def _without_cutoff(state: dict[str, Any]) -> dict[str, Any]:
    """Fail safe while the journal is untrustworthy: never worse than ``arrears``."""
    if state["status"] in _CUTOFF_STATUSES:
        state = state | {"status": "arrears", "status_reason": READ_ONLY_REASON}
    if state.get("supply_action") == "cut":
        state = state | {"supply_action": "none"}
    return state


@dataclass(frozen=True, kw_only=True, slots=True)
class Evaluated:
    """What one evaluation pass found, to keep and publish once its transaction committed."""

    catalog: Catalog
    states: list[dict[str, Any]]
    guard: dict[str, int]
    """The building's mass-disconnection guard (``tenant_state.building_guard``)."""
    leak_states: LeakStates = field(default_factory=dict)
    """Watched points whose leak state changed (a night's alarm just recorded)."""


type _Published = tuple[dict[str, Any], LeakStates]
"""A leak watch or alarm as the API answers it, and the leak states to publish."""


def _spans(readings: Iterable[IncomingReading], points: set[str]) -> dict[str, tuple[int, int]]:
    """Per point that got new readings: the first and last instant (µs) among ``readings``."""
    times: dict[str, list[int]] = {point: [] for point in points}
    for reading in readings:
        found = times.get(reading.point_id)
        if found is not None:
            found.append(reading.ts)
    return {
        point: (min(ts) * US_PER_SECOND, max(ts) * US_PER_SECOND)
        for point, ts in times.items()
        if ts
    }


class LedgerService:
    def __init__(self, config: LedgerConfig, clock: Clock = wall_clock_us) -> None:
        self.config = config
        self.clock = clock
        self.engine = db_engine.create_engine(config.database_url)
        self.catalog: Catalog
        self.key: LedgerKey | None = None
        self.read_only = False
        self.integrity_errors: list[Error] = []
        self.counters: Counter[str] = Counter()
        self.mqtt: LedgerMqtt | None = None
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-db")
        self._queue: asyncio.Queue[_Delivery] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._published: dict[str, dict[str, Any]] = {}
        self._guard_published: dict[str, int] | None = None
        self.states: dict[str, dict[str, Any]] = {}
        """The latest state of every tenant, as published."""
        self._logged_kinds: set[str] = set()
        self._logged_quarantine: set[tuple[str, str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure_streak = 0
        self._chain: dict[str, SeriesHead] = {}
        """The head of each hashed series as of the last commit (``chain_head``)."""
        self._chain_published: dict[str, SeriesHead] | None = None
        self._chain_published_at = float("-inf")
        self._chain_timer: asyncio.TimerHandle | None = None
        self.statement_failures: dict[str, StatementFailure] = {}
        """Statements that could not be issued (by ``DuePeriod.key``): retried every run."""

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._run(self._prepare)
        if self.config.broker is not None:
            self.mqtt = LedgerMqtt(
                self.config.broker,
                self.config.prefix,
                self.config.client_id,
                self._from_mqtt,
                subscribe=not self.read_only,
            )
            self.mqtt.start()
            # Archived tenants stay gone even if the broker missed the removal (or was replaced).
            for tenant_id in sorted(self.catalog.archived_tenants):
                self.mqtt.clear_tenant(tenant_id)
            self.publish_leak_states(await self.read(lambda c, _: leak_states(c)))
            self._publish_chain()
        self._tasks = [
            asyncio.create_task(self._ingest_loop(), name="ledger-ingest"),
            asyncio.create_task(self._tick_loop(), name="ledger-tick"),
        ]
        # Periods that ended while the add-on was down are issued now, not a tick later.
        if not self.read_only:
            await self.run_statements()
        await self.refresh(None)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._chain_timer is not None:
            self._chain_timer.cancel()
        self._publish_chain()  # the newest head goes out before the ledger does
        if self.mqtt is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.mqtt.stop)
        self._db.shutdown(wait=True)
        self.engine.dispose()

    def _prepare(self) -> None:
        """Migrate, open the key, check the records, make sure there is a site and a token."""
        db_engine.upgrade(self.engine)
        errors: list[Error] = []
        try:
            self.key = integrity.open_key(self.config.data_dir, self.engine)
        except KeyFileError as err:
            errors.append(Error(entry_id=0, code="key", message=str(err), subject="ledger key"))
        else:
            self.engine = db_engine.with_key(self.engine, self.key)
        with self.engine.begin() as connection:
            self._ensure_site(connection)
            if self.key is not None:
                errors += integrity.check(connection, self.key, every_reading=False)[1]
            heads = chain_head.read(connection)
            catalog = load_catalog(connection)
            self._ensure_admin_token(connection)
        self.catalog = catalog
        self._chain = heads
        _LOGGER.info(
            "chain head %s (key %s)",
            {name: head.id for name, head in heads.items()},
            None if self.key is None else self.key.fingerprint(),
        )
        if errors:
            self._integrity_failed(errors)

    def _integrity_failed(self, errors: Sequence[Error]) -> None:
        """Records that are not as the ledger wrote them: serve read-only from now on."""
        self.read_only = True
        self.integrity_errors.extend(errors)
        for error in errors[:20]:
            _LOGGER.error("integrity: %s", error)
        _LOGGER.error(
            "THE LEDGER'S RECORDS FAILED VERIFICATION (%d problems): the ledger serves "
            "read-only, takes no readings and posts nothing until an operator restores the "
            "database (python -m tenant_ledger verify names each problem)",
            len(errors),
        )

    def _ensure_site(self, connection: sa.Connection) -> None:
        site = catalog_store.site(connection)
        if site is None:
            catalog_store.create_site(
                connection,
                timezone=self.config.timezone,
                currency=self.config.currency,
                at_us=self.clock(),
            )
            return
        if site.currency != self.config.currency:
            _LOGGER.error(
                "the ledger keeps its accounts in %s; the configured currency %s is ignored",
                site.currency,
                self.config.currency,
            )
        if site.timezone != self.config.timezone:
            _LOGGER.info("time zone changed from %s to %s", site.timezone, self.config.timezone)
            catalog_store.set_timezone(connection, self.config.timezone)

    def _ensure_admin_token(self, connection: sa.Connection) -> None:
        """Register ``--admin-token``, or create one on first start and say where it is."""
        action = Action(actor=SYSTEM_ACTOR, reason="first start", now_us=self.clock())
        token = self.config.admin_token
        if token is not None:
            if not access_store.token_known(connection, token, active_only=False):
                name = f"admin-{hash_token(token)[:8]}"
                create_token(connection, action, name=name, role="admin", token=token)
            return
        if access_store.any_token(connection):
            return
        token = create_token(
            connection, action, name="admin", role="admin", token=secrets.token_urlsafe(32)
        )
        path = self.config.data_dir / ADMIN_TOKEN_FILE
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(token + "\n", encoding="utf-8")
        path.chmod(0o600)
        _LOGGER.warning("created the first admin API token (also in %s): %s", path, token)

    # -- database jobs -------------------------------------------------------------------------

    async def _run[T](self, job: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, job)

    async def read[T](self, query: Callable[[sa.Connection, Catalog], T]) -> T:
        def job() -> T:
            with self.engine.connect() as connection:
                return query(connection, self.catalog)

        return await self._run(job)

    async def write[T](
        self,
        change: Callable[[sa.Connection, Catalog], T],
        *,
        affects: Iterable[str] | None = (),
        catalog_changed: bool = False,
    ) -> T:
        """Run ``change`` in one transaction; publish the tenants it ``affects`` (None: all)."""
        self._refuse_if_read_only()
        wanted = None if affects is None else list(affects)

        def work(connection: sa.Connection) -> tuple[tuple[T, Evaluated], Catalog]:
            result = change(connection, self.catalog)
            catalog = load_catalog(connection) if catalog_changed else self.catalog
            evaluated = self._evaluate(connection, catalog, wanted)
            return (result, evaluated), evaluated.catalog

        result, evaluated = await self._run(functools.partial(self._transaction, work))
        self._schedule_chain_publish()
        self._publish(evaluated)
        return result

    def _transaction[T](self, work: Callable[[sa.Connection], tuple[T, Catalog]]) -> T:
        """One of the ledger's own transactions (on the database thread).

        It must find the hashed series where the last one left them: anything else means
        someone else wrote to the database, and the ledger stops writing before it builds on
        that. ``work`` answers its result and the catalog as it stands afterwards; memory takes
        that catalog and the new heads only once the transaction has committed.
        """
        with self.engine.begin() as connection:
            found = chain_head.read(connection)
            if found != self._chain:
                problems = chain_head.differences(self._chain, found)
                self._chain = found  # reported once; the ledger is read-only from now on
                self._integrity_failed(
                    [
                        Error(entry_id=0, code="foreign_write", message=text, subject="chain")
                        for text in problems
                    ]
                )
                raise LedgerError(503, "read_only", READ_ONLY_MESSAGE)
            result, catalog = work(connection)
            heads = chain_head.read(connection)
        self.catalog, self._chain = catalog, heads
        return result

    def _evaluate(
        self, connection: sa.Connection, catalog: Catalog, tenant_ids: Iterable[str] | None
    ) -> Evaluated:
        """Current states of ``tenant_ids`` (None: all) inside the caller's transaction, and
        what judging them changed (a status, a spent cut-off approval) recorded.

        Also the catalog as it stands afterwards (a spent cut-off approval changes it), for the
        caller to keep once the transaction has committed: memory never runs ahead of the
        database; and the building's mass-disconnection guard, to publish with the states.
        """
        now = self.clock()
        ids = catalog.tenants if tenant_ids is None else tenant_ids
        policy = self.config.cutoff
        # Each recorded before the next is judged: the guard counts the cut-offs decided.
        views = evaluate_and_record(
            connection, catalog, [t for t in ids if t in catalog.tenants], now, policy
        )
        if any(view.approval_spent for view in views):
            catalog = load_catalog(connection)
        return Evaluated(
            catalog=catalog,
            states=[view.payload for view in views],
            guard=building_guard(connection, now, policy),
        )

    async def refresh(self, tenant_ids: Iterable[str] | None) -> list[dict[str, Any]]:
        """Re-evaluate (time moves statuses on) and publish what changed."""
        wanted = None if tenant_ids is None else list(tenant_ids)

        def work(connection: sa.Connection) -> tuple[Evaluated, Catalog]:
            evaluated = self._evaluate(connection, self.catalog, wanted)
            return evaluated, evaluated.catalog

        evaluated = await self._run(functools.partial(self._transaction, work))
        self._schedule_chain_publish()
        self._publish(evaluated)
        return evaluated.states

    async def archive_tenant(self, action: Action, tenant_id: str) -> None:
        """Archive a moved-out tenant and remove its retained state from the broker."""
        await self.write(
            lambda c, cat: archive_tenant(c, cat, action, tenant_id=tenant_id),
            catalog_changed=True,
        )
        self.states.pop(tenant_id, None)
        self._published.pop(tenant_id, None)
        if self.mqtt is not None:
            self.mqtt.clear_tenant(tenant_id)

    def _publish(self, evaluated: Evaluated) -> None:
        self._publish_guard(evaluated.guard)
        self.publish_leak_states(evaluated.leak_states)
        for computed in evaluated.states:
            if computed["tenant_id"] not in self.catalog.tenants:
                continue  # archived meanwhile: its retained state is already cleared
            state = _without_cutoff(computed) if self.read_only else computed
            self.states[state["tenant_id"]] = state
            comparable = {k: v for k, v in state.items() if k != "updated_at"}
            if self._published.get(state["tenant_id"]) == comparable:
                continue
            if self.mqtt is not None:
                try:
                    self.mqtt.publish_tenant(state["tenant_id"], state)
                except Exception:
                    _LOGGER.exception("publishing the state of %s failed", state["tenant_id"])
                    continue  # not remembered as published: the next change tries again
            self._published[state["tenant_id"]] = comparable

    def publish_leak_states(self, states: LeakStates) -> None:
        """Watched points' leak states, retained (None clears a point no longer watched)."""
        if self.mqtt is None:
            return
        for point_id, state in states.items():
            try:
                self.mqtt.publish_leak_state(point_id, state)
            except Exception:
                _LOGGER.exception("publishing the leak state of %s failed", point_id)

    def _publish_guard(self, guard: dict[str, int]) -> None:
        """The building's guard, retained, when it changed (a read-only ledger cuts nobody)."""
        if self.mqtt is None or self.read_only or guard == self._guard_published:
            return
        try:
            self.mqtt.publish_guard(guard)
        except Exception:
            _LOGGER.exception("publishing the cut-off guard failed")
            return
        self._guard_published = guard

    def _schedule_chain_publish(self) -> None:
        """After a commit: the new chain head goes out within ``_CHAIN_PUBLISH_SECONDS``."""
        if self.mqtt is not None and self._chain_timer is None and self._loop is not None:
            wait = self._chain_published_at + _CHAIN_PUBLISH_SECONDS - self._loop.time()
            self._chain_timer = self._loop.call_later(max(wait, 0.0), self._publish_chain)

    def _publish_chain(self) -> None:
        """The newest chain head, retained, unless the broker has it already."""
        self._chain_timer = None
        if self.mqtt is None or self.key is None or self._chain == self._chain_published:
            return
        try:
            self.mqtt.publish_chain(chain_head.document(self._chain, self.key))
        except Exception:
            _LOGGER.exception("publishing the chain head failed")
            return
        self._chain_published = self._chain
        assert self._loop is not None
        self._chain_published_at = self._loop.time()

    # -- readings ------------------------------------------------------------------------------

    def _from_mqtt(self, payload: bytes, ack: Ack) -> None:
        """paho's thread: hand the message to the event loop, acknowledged after the commit.

        Read-only: dropped unacknowledged, so the broker delivers it again after the repair.
        """
        assert self._loop is not None
        if self.read_only:
            self.counters["readings_deferred_read_only"] += 1
            return
        self._loop.call_soon_threadsafe(self._queue.put_nowait, _Delivery(payload, ack, None))

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            raise LedgerError(503, "read_only", READ_ONLY_MESSAGE)

    async def ingest(self, readings: Sequence[IncomingReading]) -> StoreResult:
        """Store and rate readings from the API, batched with whatever MQTT delivers meanwhile."""
        self._refuse_if_read_only()
        done: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Delivery(readings, None, done))
        return await done

    async def _ingest_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < _MAX_BATCH_MESSAGES:
                batch.append(self._queue.get_nowait())
            try:
                await self._store_batch(batch)
            except Exception:
                # The consumer outlives any bug: the batch stays unacknowledged (delivered
                # again after a restart) and the next messages are taken as usual.
                _LOGGER.exception("handling %d readings messages failed", len(batch))

    @property
    def ingest_stalled(self) -> bool:
        """Readings cannot be stored at all (not even one at a time), or the ingest task died."""
        task = next((t for t in self._tasks if t.get_name() == "ledger-ingest"), None)
        return (task is not None and task.done()) or self._failure_streak > _BATCH_ATTEMPTS

    async def _store_batch(self, batch: list[_Delivery]) -> None:
        """Store a batch; one that keeps failing is stored message by message instead."""
        for _attempt in range(_BATCH_ATTEMPTS):
            if self.read_only:
                self._fail_api_requests(batch)  # MQTT ones stay unacknowledged
                return
            try:
                results, evaluated = await self._run(functools.partial(self._ingest, batch))
            except Exception:
                self._failure_streak += 1
                _LOGGER.exception("storing %d readings messages failed; retrying", len(batch))
                batch = self._fail_api_requests(batch)
                if not batch:
                    return
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            self._failure_streak = 0
            self._schedule_chain_publish()
            for delivery, result in zip(batch, results, strict=True):
                self._acknowledge(delivery)
                # API requests come parsed, so their result is never a PayloadError.
                if isinstance(result, StoreResult) and delivery.done and not delivery.done.done():
                    delivery.done.set_result(result)
            self._publish(evaluated)
            return
        # One poison message must not block the building: the others go through alone.
        for delivery in batch:
            assert isinstance(delivery.payload, bytes)  # API requests failed above
            try:
                _results, evaluated = await self._run(functools.partial(self._ingest, [delivery]))
            except Exception:
                if self.read_only or not await self._park(delivery.payload):
                    continue  # unacknowledged: the broker delivers it again after a restart
            else:
                self._failure_streak = 0
                self._schedule_chain_publish()
                self._publish(evaluated)
            self._acknowledge(delivery)

    def _acknowledge(self, delivery: _Delivery) -> None:
        """Tell the broker an MQTT message is done with (stored or set aside, and committed)."""
        if delivery.ack is not None:
            delivery.ack()
            self.counters["messages_acknowledged"] += 1

    async def _park(self, payload: bytes) -> bool:
        """Set aside a message that cannot be stored, so that it is acknowledged.

        Its readings go to the quarantine (``ingest_error``), where a landlord may release
        them; if even that fails, the message itself is parked as it came.
        """
        now = self.clock()

        def job() -> int:
            try:
                readings = decode_readings(payload)
                with self.engine.begin() as connection:
                    park_readings(connection, readings, now, "ingest_error", "storing it failed")
            except Exception:
                _LOGGER.exception("could not quarantine the readings; parking the message")
            else:
                return len(readings)
            with self.engine.begin() as connection:
                park_message(connection, payload, "ingest_error", "storing it failed", now)
            return 0

        try:
            parked = await self._run(job)
        except Exception:
            self._failure_streak += 1
            _LOGGER.exception("could not park the message either; ingestion is stalled")
            return False
        _LOGGER.error(
            "a readings message failed %d times; set it aside (%d readings quarantined with "
            "reason ingest_error, GET /api/readings/quarantine)",
            _BATCH_ATTEMPTS + 1,
            parked,
        )
        self.counters["readings_parked"] += parked
        return True

    def _fail_api_requests(self, batch: list[_Delivery]) -> list[_Delivery]:
        """API callers get an error now; MQTT messages stay unacknowledged and are retried."""
        error = (
            LedgerError(503, "read_only", READ_ONLY_MESSAGE)
            if self.read_only
            else LedgerError(503, "storage_failed", "the readings could not be stored")
        )
        for delivery in batch:
            if delivery.done is not None and not delivery.done.done():
                delivery.done.set_exception(error)
        return [delivery for delivery in batch if delivery.done is None]

    def _ingest(
        self, batch: Sequence[_Delivery]
    ) -> tuple[list[StoreResult | PayloadError], Evaluated]:
        """Store the batch's readings and park its unreadable messages, in one transaction."""
        self._refuse_if_read_only()
        now = self.clock()

        def work(
            connection: sa.Connection,
        ) -> tuple[tuple[list[StoreResult | PayloadError], Evaluated], Catalog]:
            decoded: list[Sequence[IncomingReading] | PayloadError] = []
            for delivery in batch:
                payload = delivery.payload
                if not isinstance(payload, bytes):
                    decoded.append(payload)
                    continue
                try:
                    decoded.append(decode_readings(payload))
                except PayloadError as err:
                    park_message(connection, payload, err.kind, str(err), now)
                    decoded.append(err)
            messages = [item for item in decoded if not isinstance(item, PayloadError)]
            # All the batch's readings are looked up and inserted together.
            batch_stored = store_messages(connection, messages, now, self.catalog.limit_of)
            stored = iter(batch_stored.results)
            results = [item if isinstance(item, PayloadError) else next(stored) for item in decoded]
            points = {
                point
                for result in results
                if isinstance(result, StoreResult)
                for point in result.points
            }
            tenants = rate_points(connection, self.catalog, points, now, batch_stored.appended)
            evaluated = self._evaluate(connection, self.catalog, tenants)
            readings = (reading for message in messages for reading in message)
            alarms = detect_leaks(connection, self.catalog, _spans(readings, points), now)
            for alarm in alarms:
                _LOGGER.warning(
                    "leak alarm: %s counted at least %d per hour all night %s (%d in the window)",
                    alarm.point_id,
                    alarm.lowest_per_hour,
                    alarm.night,
                    alarm.volume,
                )
            changed = leak_states(connection, {alarm.point_id for alarm in alarms})
            return (results, replace(evaluated, leak_states=changed)), evaluated.catalog

        results, evaluated = self._transaction(work)
        for result in results:
            if isinstance(result, PayloadError):
                self._note_malformed(result)
                continue
            self.counters["readings_stored"] += result.stored
            self.counters["readings_duplicate"] += result.duplicates
            self.counters["readings_conflicting"] += result.conflicts
            self._note_quarantine(result.quarantined)
        return results, evaluated

    def _note_malformed(self, error: PayloadError) -> None:
        """Count a parked message; log the first of each kind."""
        self.counters[f"malformed_{error.kind}"] += 1
        self.counters["messages_parked"] += 1
        if error.kind not in self._logged_kinds:
            self._logged_kinds.add(error.kind)
            _LOGGER.warning(
                "parked an unreadable readings message (%s): %s; see GET /api/readings/parked "
                "(further ones of this kind are counted, not logged)",
                error.kind,
                error,
            )

    def _note_quarantine(self, quarantined: Iterable[Quarantined]) -> None:
        """Count quarantined readings; log the first of each point and reason."""
        for item in quarantined:
            reason = item.verdict.reason.value
            self.counters["readings_quarantined"] += 1
            self.counters[f"quarantined_{reason}"] += 1
            if (item.reading.point_id, reason) in self._logged_quarantine:
                continue
            self._logged_quarantine.add((item.reading.point_id, reason))
            _LOGGER.warning(
                "quarantined an implausible reading of %s at %s (%s %s): %s; see "
                "GET /api/readings/quarantine (further ones of this point and reason are "
                "counted, not logged)",
                item.reading.point_id,
                item.reading.ts,
                item.reading.register,
                item.reading.unit,
                item.verdict.detail,
            )

    async def release_reading(self, action: Action, quarantine_id: int) -> StoreResult:
        """Ingest a quarantined reading a landlord vouched for (rated like any other)."""

        def change(connection: sa.Connection, catalog: Catalog) -> StoreResult:
            result = release_quarantined(connection, action, quarantine_id)
            rate_points(connection, catalog, result.points, action.now_us)
            return result

        # Which tenant held the point at the reading's time is for rating to find out.
        result = await self.write(change, affects=None)
        self.counters["readings_released"] += 1
        self.counters["readings_stored"] += result.stored
        return result

    # -- leak watches ----------------------------------------------------------------------------

    async def put_leak_watch(
        self,
        action: Action,
        point_id: str,
        window: NightWindow,
        minimum_per_hour: int,
        *,
        enabled: bool,
    ) -> dict[str, Any]:
        """Set the point's leak watch; its leak state goes out retained."""

        def change(
            connection: sa.Connection, catalog: Catalog
        ) -> tuple[dict[str, Any], LeakStates]:
            watch = leaks.put_watch(
                connection,
                catalog,
                action,
                point_id=point_id,
                window=window,
                minimum_per_hour=minimum_per_hour,
                enabled=enabled,
            )
            return leaks.watch_payload(watch), leaks.leak_states(connection, [point_id])

        watch, states = await self.write(change)
        self.publish_leak_states(states)
        return watch

    async def delete_leak_watch(self, action: Action, point_id: str) -> None:
        """Stop watching the point; its retained leak state is cleared."""
        await self.write(lambda c, _cat: leaks.delete_watch(c, action, point_id=point_id))
        self.publish_leak_states({point_id: None})

    async def acknowledge_leak_alarm(self, action: Action, alarm_id: int) -> dict[str, Any]:
        """The landlord has seen the alarm; the point's leak state goes out again."""

        def change(
            connection: sa.Connection, _catalog: Catalog
        ) -> tuple[dict[str, Any], LeakStates]:
            alarm = leaks.acknowledge_alarm(connection, action, alarm_id=alarm_id)
            return leaks.alarm_payload(alarm), leaks.leak_states(connection, [alarm.point_id])

        alarm, states = await self.write(change)
        self.publish_leak_states(states)
        return alarm

    # -- time ------------------------------------------------------------------------------------

    @property
    def formats(self) -> Formats:
        """Numbers, money, dates and words in the add-on's locale."""
        return Formats(self.config.locale, self.catalog.currency)

    @property
    def issuer(self) -> Issuer:
        return Issuer(
            name=self.config.landlord_name,
            address=self.config.landlord_address,
            tax_name=self.config.tax_name,
        )

    async def run_statements(self) -> list[DuePeriod]:
        """Issue every statement due, each tenant and period in its own transaction.

        A period that fails is logged, listed in ``statement_failures`` (health, HA repair
        issue) and retried on the next run; the tenant's later periods wait for it (each opens
        where the previous closed), every other tenant's are issued.
        """
        self._refuse_if_read_only()
        now_us = self.clock()
        await self.write(lambda c, cat: post_daily_standing(c, cat, now_us), affects=None)
        due = await self.read(lambda c, cat: due_periods(c, cat, now_us))
        issued: list[DuePeriod] = []
        blocked: set[str] = set()
        splits: Splits = {}
        for period in due:
            if period.tenant_id in blocked:
                continue
            issue = functools.partial(
                issue_statement, due=period, issuer=self.issuer, now_us=now_us, splits=splits
            )
            try:
                await self.write(issue, affects=[period.tenant_id])
            except Exception as err:
                blocked.add(period.tenant_id)
                _LOGGER.error(
                    "statement of %s from %s not issued: %s",
                    period.tenant_id,
                    period.start.date(),
                    err,
                )
                _LOGGER.debug("statement failure", exc_info=True)
                self.statement_failures[period.key] = StatementFailure(
                    tenant_id=period.tenant_id,
                    period_start=period.start.date().isoformat(),
                    error=str(err) or type(err).__name__,
                    since_us=self.statement_failures[period.key].since_us
                    if period.key in self.statement_failures
                    else now_us,
                )
                continue
            self.statement_failures.pop(period.key, None)
            issued.append(period)
        return issued

    def statement_failure_report(self) -> list[dict[str, str]]:
        """The statements not issued, oldest failure first (health answer, HA repair issue)."""
        return [
            {
                "tenant_id": failure.tenant_id,
                "period_start": failure.period_start,
                "error": failure.error,
                "since": from_us(failure.since_us).isoformat(),
            }
            for failure in sorted(self.statement_failures.values(), key=lambda f: f.since_us)
        ]

    async def tick(self) -> None:
        """What the passing of time does: statements on billing days, then status changes."""
        if self.read_only:
            return
        await self.run_statements()
        await self.refresh(None)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_seconds)
            try:
                await self.tick()
            except Exception:
                _LOGGER.exception("the periodic statement and status run failed")
