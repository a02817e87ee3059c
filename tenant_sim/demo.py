"""The main job: a simulated 12-room hostel on 127.0.0.1, running until Ctrl-C or SIGTERM.

Starts Mosquitto, the ledger (seeded with the building and the month so far), the simulated
breakers and Modbus meter, and Home Assistant with Tenant Metering configured. A part that
fails is reported with ✗ and the rest keeps running. ``--simulate-month`` instead runs a
month at high speed and prints the statements.
"""

import argparse
import asyncio
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
import json
from pathlib import Path
import secrets
import shutil
import signal
import socket
import sys
import time
from zoneinfo import ZoneInfo

import aiohttp

from tenant_sim.building import TIMEZONE, Building, hostel
from tenant_sim.clock import SimClock
from tenant_sim.history import hourly_readings
from tenant_sim.homeassistant import HomeAssistantDemo
from tenant_sim.ingress import IngressStandIn
from tenant_sim.ledger_api import LedgerApi, LedgerApiError
from tenant_sim.ledger_process import LedgerProcess, building_args
from tenant_sim.live import LiveBuilding
from tenant_sim.month import MonthError, month_bounds, simulate_month
from tenant_sim.mosquitto import MosquittoBroker
from tenant_sim.net import LOOPBACK, free_port
from tenant_sim.portal_links import SignInLink, make_sign_in_links
from tenant_sim.progress import Progress
from tenant_sim.registers import BuildingRegisters, MeterReading, Reading
from tenant_sim.seed import create_token, register_water_points, seed, top_up_openings

REPO_ROOT = Path(__file__).resolve().parent.parent
MARKER = ".tenant-metering-demo"
"""Marks a data directory as the demo's, so a new run may clear what the last one left."""
OWNED = ("mosquitto", "ledger", "homeassistant", "month", "demo.json")
BACKFILL_BATCH_HOURS = 24


@dataclass(frozen=True, kw_only=True)
class Options:
    data_dir: Path
    ha_port: int
    ledger_port: int
    mqtt_port: int
    portal_port: int
    tenant_portal_port: int
    no_ha: bool
    duration: float | None
    interval: float
    simulate_month: bool
    month: tuple[datetime, datetime] | None
    """The simulated month's bounds (``--simulate-month``), checked before anything starts."""
    clock: SimClock


def parse(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="scripts/demo", description=(__doc__ or "").split("\n", 1)[0]
    )
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "demo-data")
    parser.add_argument(
        "--ha-port", type=int, default=8123, help="Home Assistant (8123; 0: any free port)"
    )
    parser.add_argument(
        "--ledger-port", type=int, default=8099, help="ledger API (8099; 0: any free port)"
    )
    parser.add_argument(
        "--mqtt-port", type=int, default=1883, help="Mosquitto (1883; a free one if taken)"
    )
    parser.add_argument(
        "--portal-port",
        type=int,
        default=8100,
        help="the ingress stand-in: landlord console and tenant portal (8100; 0: any free port)",
    )
    parser.add_argument(
        "--tenant-portal-port",
        type=int,
        default=8101,
        help="the ledger's own tenant portal: sign-in links, no HA login (8101; 0: any free)",
    )
    parser.add_argument("--no-ha", action="store_true", help="skip Home Assistant")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between meter readings (10)"
    )
    parser.add_argument(
        "--simulate-month",
        action="store_true",
        help="run a month at high speed (no Home Assistant) and print the statements",
    )
    parser.add_argument("--month", help="the month to simulate, YYYY-MM (default: last month)")
    parser.add_argument(
        "--now",
        help="pretend the demo starts at this past instant (ISO 8601 with UTC offset, e.g. "
        "2026-10-20T12:00:00+01:00); the ledger and the simulated meters run from there",
    )
    args = parser.parse_args(argv)
    clock = _clock(args.now)
    if args.month is not None and not args.simulate_month:
        raise UsageError("--month goes with --simulate-month")
    month = None
    if args.simulate_month:
        try:
            month = month_bounds(args.month, clock.now())
        except MonthError as err:
            raise UsageError(str(err)) from None
    return Options(
        data_dir=args.data_dir.resolve(),
        ha_port=args.ha_port,
        ledger_port=args.ledger_port,
        mqtt_port=args.mqtt_port,
        portal_port=args.portal_port,
        tenant_portal_port=args.tenant_portal_port,
        no_ha=args.no_ha,
        duration=args.duration,
        interval=args.interval,
        simulate_month=args.simulate_month,
        month=month,
        clock=clock,
    )


class UsageError(ValueError):
    """Arguments the demo refuses before starting anything; the message is one line."""


def _clock(now: str | None) -> SimClock:
    if now is None:
        return SimClock()
    try:
        clock = SimClock.at(now)
    except ValueError:
        raise UsageError(
            f"--now {now!r} is not an ISO 8601 instant with a UTC offset, "
            "e.g. 2026-10-20T12:00:00+01:00"
        ) from None
    if clock.time() > time.time():
        raise UsageError(f"--now {now} is in the future; the demo can only pretend it is earlier")
    return clock


def prepare_data_dir(data_dir: Path) -> None:
    """Start from a clean slate each run: clear what the previous run left, nothing else."""
    if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / MARKER).exists():
        raise SystemExit(f"{data_dir} is not empty and not a demo data directory; choose another")
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).touch()
    for name in OWNED:
        path = data_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _free_or_fail(wanted: int, flag: str, progress: Progress) -> int:
    """``wanted`` if nothing listens there (0: any free port); else say which flag helps."""
    if wanted == 0:
        return free_port()
    if not _port_is_free(wanted):
        progress.failed(f"port {wanted}", f"already in use; choose another with {flag} PORT")
        raise OSError(f"port {wanted} is in use")
    return wanted


def _mqtt_port(wanted: int, progress: Progress) -> int:
    if _port_is_free(wanted):
        return wanted
    port = free_port()
    progress.say(f"  (port {wanted} is taken; Mosquitto uses {port})")
    return port


def month_start(now: datetime) -> datetime:
    """Midnight of the 1st in the building's time zone: the tenants moved in then."""
    local = now.astimezone(ZoneInfo(TIMEZONE))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def backfill(
    api: LedgerApi,
    registers: BuildingRegisters,
    until_ts: int,
    *,
    held: list[MeterReading] | None = None,
) -> int:
    """Post the month so far as hourly readings, a day per request; returns how many.

    With ``held``, the water counters' readings go there instead: their points are
    registered once Home Assistant knows their ids (``_WaterRegistration``)."""
    batch: list[Reading] = []
    sent = 0
    water = {meter.point_id for meter in registers.building.water_meters}
    for hour in hourly_readings(registers, until_ts):
        posted = hour
        if held is not None:
            held += [r for r in hour if isinstance(r, MeterReading) and r.point_id in water]
            posted = [r for r in hour if r.point_id not in water]
        batch.extend(posted)
        if len(batch) >= BACKFILL_BATCH_HOURS * len(posted):
            await api.post_readings(batch)
            sent += len(batch)
            batch = []
    if batch:
        await api.post_readings(batch)
        sent += len(batch)
    return sent


def _stop_event() -> asyncio.Event:
    """Set by Ctrl-C (SIGINT) or SIGTERM, so both stop everything the same clean way."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _tick_forever(live: LiveBuilding, interval: float, progress: Progress) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            live.tick()
        except Exception as err:  # one bad tick must not end the demo
            progress.failed("meter readings", err)


@dataclass(kw_only=True)
class Running:
    """What the banner names, once everything has started."""

    broker: MosquittoBroker
    ledger: LedgerProcess
    admin_token: str
    sign_ins: list[SignInLink] = field(default_factory=list)
    """Each tenant's portal link and PIN, as the landlord hands them out."""
    ha: HomeAssistantDemo | None = None
    portal: IngressStandIn | None = None
    totals: tuple[int, int] = (0, 0)


async def run_live(options: Options, building: Building) -> int:
    progress = Progress()
    stop = _stop_event()  # first: a Ctrl-C from here on stops everything in order
    progress.say(f"Starting the Tenant Metering demo: {building.name}, 12 rooms, on 127.0.0.1")
    async with AsyncExitStack() as stack:
        startup = asyncio.ensure_future(_start(options, building, stack, progress, stop))
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({startup, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if startup.done():
            running = startup.result()  # a part the demo cannot run without raises here
            _write_summary(options, running)
            _print_ready(progress=progress, building=building, running=running)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), options.duration)
        else:  # stopped while starting: what has started is stopped below, in order
            startup.cancel()
            with suppress(asyncio.CancelledError):
                await startup
        progress.say("\nStopping…")
    progress.ok("stopped cleanly")
    return 0


async def _start(
    options: Options,
    building: Building,
    stack: AsyncExitStack,
    progress: Progress,
    stop: asyncio.Event,
) -> Running:
    """Start every part; each one's stop is on ``stack`` before it starts."""
    broker = MosquittoBroker(
        options.data_dir / "mosquitto", port=_mqtt_port(options.mqtt_port, progress)
    )
    stack.callback(broker.stop)
    await progress.step(f"Mosquitto on {broker.url}", asyncio.to_thread(broker.start))

    admin_token = secrets.token_urlsafe(24)
    landlords = [login.username for login in building.logins if login.tenant_id is None]
    tenant_portal = _free_or_fail(options.tenant_portal_port, "--tenant-portal-port", progress)
    ledger = LedgerProcess(
        options.data_dir / "ledger",
        port=_free_or_fail(options.ledger_port, "--ledger-port", progress),
        mqtt_url=broker.url,
        admin_token=admin_token,
        clock=options.clock,
        args=[
            *building_args(
                landlords=landlords,
                trusted_proxies=[LOOPBACK],  # the ingress stand-in
            ),
            *("--portal-port", str(tenant_portal)),
            *("--portal-url", f"http://{LOOPBACK}:{tenant_portal}"),
        ],
    )
    stack.callback(ledger.stop)
    await progress.step(f"ledger on {ledger.url}", asyncio.to_thread(ledger.start))
    api = await stack.enter_async_context(ledger.api())
    running = Running(broker=broker, ledger=ledger, admin_token=admin_token)

    now = int(options.clock.time())
    moved_in = month_start(options.clock.now())
    # With Home Assistant, the water counters become ledger points under the ids HA adopts
    # them as, known only once it runs: until then their month so far is held back.
    water = _WaterRegistration(api, building, moved_in, held=None if options.no_ha else [])
    # From here on a failing part is reported and the rest keeps running.
    await progress.attempt(
        "ledger seeded: 12 rooms, 11 tenants, time-of-use tariff, prepaid and postpaid plans",
        seed(api, building, move_in=moved_in, water=water.held is None),
    )
    registers = BuildingRegisters(building, int(moved_in.timestamp()), step_s=300)
    await progress.attempt(
        f"month so far metered: hourly readings since {moved_in:%Y-%m-%d %H:%M %Z}",
        backfill(api, registers, now, held=water.held),
    )
    await progress.attempt("opening payments posted", top_up_openings(api, building))
    registers.advance(now)  # where the backfill stopped, had it failed
    registers.step_s = 60

    live = LiveBuilding(building, registers, broker.port, clock=options.clock)
    live.bridge_water = water.held is None  # nothing to send them to before they are registered
    await progress.step(
        f"simulator: {len(building.breakers)} MQTT breakers, Modbus meter "
        f"(6 channels) on 127.0.0.1:{live.modbus.port}, readings every {options.interval:g} s",
        live.start(),
    )
    stack.push_async_callback(live.stop)
    ticker = asyncio.create_task(_tick_forever(live, options.interval, progress))
    stack.callback(ticker.cancel)

    if not options.no_ha:
        running.ha = await _home_assistant(
            options, building, live=live, ledger=ledger, api=api, water=water, progress=progress
        )
    if running.ha is not None:
        ha = running.ha
        stack.push_async_callback(ha.stop)
        await ha.start(stop)
        live.bridge_breakers = not ha.forwards_breakers
        live.bridge_modbus = not ha.forwards_modbus
        live.bridge_heat = not ha.forwards_heat
    await _water_settled(
        water, live, adopted=running.ha is not None and running.ha.adopts_water, progress=progress
    )
    if running.ha is not None and running.ha.url is not None:
        running.portal = await _portal(
            options, stack=stack, ha=running.ha, ledger=ledger, progress=progress
        )

    await progress.attempt(
        f"tenant portal on http://{LOOPBACK}:{tenant_portal}: a sign-in link and PIN per tenant",
        _sign_ins(running, landlords[0], building),
    )

    running.totals = await _ledger_totals(api)
    return running


class _WaterRegistration:
    """The water counters' ledger points, registered once their ids are known, with the
    month so far that ``backfill`` held back for them."""

    def __init__(
        self,
        api: LedgerApi,
        building: Building,
        moved_in: datetime,
        *,
        held: list[MeterReading] | None,
    ) -> None:
        self.api = api
        self.building = building
        self.moved_in = moved_in
        self.held = held
        """The counters' readings of the month so far; None: the seed registered them."""
        self.registered: dict[str, str] = {}
        """Each counter's point id in the building → the ledger point it is registered as."""

    async def register(self, points: Mapping[str, str]) -> None:
        """Each counter under ``points[its id]``, in its room's tenant's hands since the
        move-in, with its month so far."""
        assert self.held is not None, "the seed registered the counters"
        await register_water_points(self.api, self.building, points, move_in=self.moved_in)
        self.registered = dict(points)
        await self.api.post_readings(replace(r, point_id=points[r.point_id]) for r in self.held)


async def _water_settled(
    water: _WaterRegistration, live: LiveBuilding, *, adopted: bool, progress: Progress
) -> None:
    """Who forwards the water counters' readings, under which point ids, once Home
    Assistant's set-up is over: HA when it adopted them all, else the bridge (under the ids
    they were registered as; their own if HA never got to them)."""
    if water.held is not None and not water.registered:
        await progress.attempt(
            "water counters registered in the ledger (bridged: Home Assistant did not adopt them)",
            water.register({m.point_id: m.point_id for m in water.building.water_meters}),
        )
    live.water_points.update(water.registered)
    live.bridge_water = not adopted


async def _sign_ins(running: Running, landlord: str, building: Building) -> None:
    tenant_ids = [tenant.tenant_id for tenant in building.tenants]
    running.sign_ins = await make_sign_in_links(running.ledger.url, landlord, tenant_ids)


async def _portal(
    options: Options,
    *,
    stack: AsyncExitStack,
    ha: HomeAssistantDemo,
    ledger: LedgerProcess,
    progress: Progress,
) -> IngressStandIn | None:
    """Open the landlord's console through the ingress stand-in (HA logins)."""
    try:
        port = _free_or_fail(options.portal_port, "--portal-port", progress)
    except OSError:
        return None
    portal = IngressStandIn(ledger_url=ledger.url, ha_url=ha.base_url, port=port)
    stack.push_async_callback(portal.stop)
    if not await progress.attempt(
        f"ingress stand-in on {portal.url}: Home Assistant logins, the ledger's web UI",
        portal.start(),
    ):
        return None
    return portal


async def _ledger_totals(api: LedgerApi) -> tuple[int, int]:
    """Tenants and readings the ledger holds, for the banner; (0, 0) when it cannot say."""
    try:
        return len(await api.tenants()), (await api.counters()).get("readings_stored", 0)
    except (LedgerApiError, aiohttp.ClientError):
        return 0, 0


async def _home_assistant(
    options: Options,
    building: Building,
    *,
    live: LiveBuilding,
    ledger: LedgerProcess,
    api: LedgerApi,
    water: _WaterRegistration,
    progress: Progress,
) -> HomeAssistantDemo | None:
    """HA with an operator token of its own for the ledger; None when its port is taken."""
    try:
        port = _free_or_fail(options.ha_port, "--ha-port", progress)
    except OSError:
        return None
    try:
        token = await create_token(api, "home-assistant", "operator")
    except LedgerApiError as err:
        progress.failed("ledger API token for Home Assistant", err)
        token = ""
    return HomeAssistantDemo(
        options.data_dir / "homeassistant",
        building,
        port=port,
        mqtt_port=live.mqtt_port,
        modbus_port=live.modbus.port,
        ledger_url=ledger.url,
        ledger_token=token,
        register_water=water.register,
        progress=progress,
    )


def _write_summary(options: Options, running: Running) -> None:
    """What the run printed, as JSON in the data dir (mode 600), for scripts and tests."""
    ha, portal = running.ha, running.portal
    summary = {
        "mqtt_url": running.broker.url,
        "ledger_url": running.ledger.url,
        "ledger_admin_token": running.admin_token,
        "home_assistant_url": None if ha is None else ha.url,
        "logins": {} if ha is None else ha.passwords,
        "tenant_portal": {
            link.tenant_id: {"url": link.url, "pin": link.pin} for link in running.sign_ins
        },
        "portal_url": None if portal is None else portal.url,
    }
    path = options.data_dir / "demo.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _print_ready(*, progress: Progress, building: Building, running: Running) -> None:
    say, ha = progress.say, running.ha
    say("")
    say(f"Ready in {progress.elapsed:.0f} s. {building.name} is running on 127.0.0.1:")
    if ha is not None and ha.url:
        say(f"  Home Assistant   {ha.url}")
        for login in building.logins:
            password = ha.passwords.get(login.username)
            if password:
                say(f"    {login.name:<26} user {login.username:<9} password {password}")
    if running.portal is not None:
        say(f"  Landlord console {running.portal.url}  (log in with the Home Assistant user above)")
    if running.sign_ins:
        names = {tenant.tenant_id: tenant.name for tenant in building.tenants}
        say("  Tenant portal (no Home Assistant login; each tenant's link and PIN):")
        for link in running.sign_ins:
            say(f"    {names[link.tenant_id]:<26} {link.url}  PIN {link.pin}")
    say(
        f"  Ledger API       {running.ledger.url}/api/openapi.json  "
        f"(admin token {running.admin_token})"
    )
    say(f"  MQTT broker      {running.broker.url}  (topics tenant_metering/#)")
    tenants, readings = running.totals
    say(f"  The ledger holds {tenants} tenants and {readings} readings of this month so far.")
    if progress.failures:
        say(f"  Not working this run: {', '.join(progress.failures)} (see the ✗ lines above).")
    say("Press Ctrl-C to stop everything.")


async def run_month(options: Options, building: Building, start: datetime, end: datetime) -> int:
    """``--simulate-month``, stopped cleanly (ledger and broker too) by Ctrl-C or SIGTERM."""
    stop = _stop_event()
    work = asyncio.ensure_future(simulate_month(options.data_dir, building, start=start, end=end))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if work.done():
        return work.result()
    work.cancel()
    with suppress(asyncio.CancelledError):
        await work
    print("\nStopped.")
    return 130


def main(argv: Sequence[str]) -> int:
    try:
        options = parse(argv)
    except UsageError as err:
        print(f"scripts/demo: {err}", file=sys.stderr)
        return 2
    building = hostel()
    prepare_data_dir(options.data_dir)
    try:
        if options.month is not None:
            return asyncio.run(run_month(options, building, *options.month))
        return asyncio.run(run_live(options, building))
    except KeyboardInterrupt:  # Ctrl-C before the demo's own handling took over
        print("\nStopped.")
        return 130
    except Exception as err:  # the ✗ line above already names the step
        print(f"The demo cannot run without that part ({type(err).__name__}); stopped.")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
