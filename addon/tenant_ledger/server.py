"""``python -m tenant_ledger serve``: run the ledger service until SIGTERM or Ctrl-C.

Outside the Supervisor everything comes from flags (or ``TENANT_LEDGER_*`` environment
variables). Inside it (``SUPERVISOR_TOKEN`` set) the add-on options and the broker come from the
Supervisor, and the ledger announces itself to Home Assistant once it is listening.
"""

import argparse
import asyncio
from datetime import datetime
import logging
import os
from pathlib import Path
import signal
import socket
from typing import Any

import aiohttp
from aiohttp import web

from tenant_ledger import clock as ledger_clock
from tenant_ledger.app import create_app
from tenant_ledger.billing import QuietHours
from tenant_ledger.config import CutoffPolicy, LedgerConfig, PlanDefaults
from tenant_ledger.db.engine import default_url
from tenant_ledger.mqtt import BrokerSettings
from tenant_ledger.service import LedgerService
from tenant_ledger.supervisor import (
    DEFAULT_URL,
    Supervisor,
    SupervisorError,
    home_assistant_token,
    read_options,
)
from tenant_ledger.web import DEFAULT_CONFIRM_ABOVE, create_portal_app, setup_web
from tenant_ledger.web.identity import SUPERVISOR_ADDRESS

_LOGGER = logging.getLogger(__name__)
_ANNOUNCE_FIRST_RETRY_SECONDS = 1
_ANNOUNCE_MAX_RETRY_SECONDS = 300


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"TENANT_LEDGER_{name}", default)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(_env("DATA_DIR", "/data") or "/data"),
        help="directory for the database and state (default: $TENANT_LEDGER_DATA_DIR or /data)",
    )
    parser.add_argument(
        "--database-url",
        default=_env("DATABASE_URL"),
        help="SQLAlchemy URL, e.g. postgresql+psycopg://… (default: SQLite in the data dir)",
    )
    parser.add_argument(
        "--host",
        default=_env("HOST", "127.0.0.1"),
        help="address to listen on (the add-on listens on 0.0.0.0 for ingress)",
    )
    parser.add_argument(
        "--port", type=int, default=int(_env("PORT", "8099") or 8099), help="TCP port of the API"
    )
    parser.add_argument(
        "--mqtt-url",
        default=_env("MQTT_URL"),
        help="broker, mqtt://[user:password@]host:port (none: no MQTT; Supervisor: its broker)",
    )
    parser.add_argument("--prefix", default=_env("PREFIX", "tenant_metering"), help="MQTT prefix")
    parser.add_argument(
        "--client-id",
        default=_env("CLIENT_ID", "tenant-metering-ledger"),
        help="fixed MQTT client id: the broker keeps this session's readings while we are down",
    )
    parser.add_argument(
        "--admin-token-file",
        type=Path,
        default=_env("ADMIN_TOKEN_FILE"),
        help="a file holding an admin API token to accept (or the token itself in "
        "$TENANT_LEDGER_ADMIN_TOKEN; default: one is generated on first start). Never on the "
        "command line, where every process on the machine can read it",
    )
    parser.add_argument(
        "--admin-token",
        help="DEPRECATED (visible in ps): use --admin-token-file or $TENANT_LEDGER_ADMIN_TOKEN",
    )
    parser.add_argument(
        "--portal-port",
        type=int,
        default=_port(_env("PORTAL_PORT")),
        help="TCP port of the tenant portal's own door (sign-in links, no Home Assistant "
        "login); none: no portal port (add-on: 8100)",
    )
    parser.add_argument(
        "--portal-url",
        default=_env("PORTAL_URL", ""),
        help="the portal as tenants reach it (e.g. https://portal.example.org), printed in "
        "sign-in links; default: the console's host name on --portal-port",
    )
    parser.add_argument("--currency", default=_env("CURRENCY", "EUR"))
    parser.add_argument("--timezone", default=_env("TIMEZONE", "UTC"))
    parser.add_argument("--locale", default=_env("LOCALE", "en"), help="e.g. en, de, en_GB")
    parser.add_argument("--landlord-name", default=_env("LANDLORD_NAME", ""))
    parser.add_argument(
        "--landlord-address", default=_env("LANDLORD_ADDRESS", ""), help="lines split by ';'"
    )
    parser.add_argument("--tax-name", default=_env("TAX_NAME", "VAT"))
    parser.add_argument(
        "--confirm-above",
        default=_env("CONFIRM_ABOVE", DEFAULT_CONFIRM_ABOVE),
        help="console top-ups and adjustments above this amount ask for a confirmation",
    )
    parser.add_argument(
        "--quiet-hours",
        type=_quiet_hours,
        default=_env("QUIET_HOURS", ""),
        help="HH:MM-HH:MM, site time, when no cut-off happens (default: none; add-on: 20:00-08:00)",
    )
    parser.add_argument(
        "--cutoff-approval",
        action="store_true",
        default=_env("CUTOFF_APPROVAL", "") == "true",
        help="every cut-off waits for the landlord's approval",
    )
    parser.add_argument(
        "--cutoff-guard-limit",
        type=int,
        default=int(_env("CUTOFF_GUARD_LIMIT", "3") or 3),
        help="arrears cut-offs per hour after which every further one needs approval",
    )
    parser.add_argument(
        "--supervisor-url",
        default=_env("SUPERVISOR_URL", DEFAULT_URL),
        help="the Supervisor API (used only when SUPERVISOR_TOKEN is set)",
    )
    parser.add_argument(
        "--admin-users",
        default=_env("ADMIN_USERS", ""),
        help="comma-separated HA user names or ids with the landlord console (web UI)",
    )
    parser.add_argument(
        "--trusted-proxies",
        default=_env("TRUSTED_PROXIES", SUPERVISOR_ADDRESS),
        help="comma-separated addresses whose X-Remote-User headers are believed (ingress)",
    )
    parser.add_argument("--log-level", default=_env("LOG_LEVEL", "info"))
    parser.add_argument(
        "--now",
        type=_instant,
        default=_env("NOW"),
        help="start the ledger's clock at this instant (ISO 8601 with UTC offset) instead of "
        "the wall clock; it then runs at real speed (simulations and tests of past months)",
    )


def _port(text: str | None) -> int | None:
    return int(text) if text else None


def _admin_token(args: argparse.Namespace) -> str | None:
    """The admin token from its file or the environment (the deprecated flag last)."""
    if args.admin_token_file is not None:
        token = Path(args.admin_token_file).read_text(encoding="utf-8").strip()
        if not token:
            raise SystemExit(f"--admin-token-file {args.admin_token_file} is empty")
        return token
    if args.admin_token:
        _LOGGER.warning(
            "--admin-token shows the token to every process on this machine (ps); "
            "use --admin-token-file or $TENANT_LEDGER_ADMIN_TOKEN"
        )
        return str(args.admin_token)
    return _env("ADMIN_TOKEN") or None


def _quiet_hours(text: str) -> QuietHours | None:
    try:
        return QuietHours.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _instant(text: str) -> datetime:
    try:
        return ledger_clock.parse_instant(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The add-on options inside the Supervisor; nothing outside it."""
    return read_options(args.data_dir) if os.environ.get("SUPERVISOR_TOKEN") else {}


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _portal_url(args: argparse.Namespace) -> str:
    """The portal as tenants reach it (add-on option, else the flag); empty: derived."""
    return str(_options(args).get("portal_url") or args.portal_url)


def _app(args: argparse.Namespace, service: LedgerService) -> web.Application:
    """The REST API plus the web UI (landlord console and tenant portal)."""
    app = create_app(service)
    options = _options(args)
    landlords = [*options.get("landlord_users", []), *_split(args.admin_users)]
    setup_web(
        app,
        service,
        landlords=landlords,
        trusted_proxies=_split(args.trusted_proxies),
        portal_url=_portal_url(args),
        portal_port=args.portal_port,
        confirm_above=str(options.get("confirm_above", args.confirm_above)),
    )
    return app


def _config(args: argparse.Namespace, broker: BrokerSettings | None) -> LedgerConfig:
    options = _options(args)
    defaults = PlanDefaults()
    return LedgerConfig(
        data_dir=args.data_dir,
        database_url=args.database_url or default_url(args.data_dir),
        broker=broker,
        prefix=options.get("mqtt_prefix", args.prefix),
        client_id=args.client_id,
        currency=options.get("currency", args.currency),
        timezone=options.get("timezone", args.timezone),
        locale=options.get("locale", args.locale),
        landlord_name=options.get("landlord_name", args.landlord_name),
        landlord_address=options.get("landlord_address", args.landlord_address),
        tax_name=options.get("tax_name", args.tax_name),
        admin_token=_admin_token(args),
        plan_defaults=PlanDefaults(
            low_balance_threshold=options.get(
                "low_balance_threshold", defaults.low_balance_threshold
            ),
            reconnect_minimum=options.get("reconnect_minimum", defaults.reconnect_minimum),
            grace_days=options.get("grace_days", defaults.grace_days),
        ),
        cutoff=CutoffPolicy(
            quiet_hours=_quiet_hours(options["quiet_hours"])
            if "quiet_hours" in options
            else args.quiet_hours,
            needs_approval=options.get("cutoff_needs_approval", args.cutoff_approval),
            guard_limit=options.get("cutoff_guard_limit", args.cutoff_guard_limit),
        ),
    )


async def _announce(
    args: argparse.Namespace, service: LedgerService, supervisor: Supervisor
) -> None:
    """Offer the ledger to Home Assistant; retried in the background, never fatal."""
    if service.read_only:
        # Provisioning the token is a write; the add-on keeps serving (read-only) rather than
        # crash-looping under the Supervisor. Home Assistant keeps the token it already has.
        _LOGGER.error(
            "READ-ONLY LEDGER: not announcing to Home Assistant and not provisioning its token "
            "until the journal is restored (python -m tenant_ledger verify)"
        )
        return
    token = await service.write(
        lambda c, _cat: home_assistant_token(c, args.data_dir, service.clock())
    )
    hostname = os.environ.get("HOSTNAME") or socket.gethostname()
    delay = _ANNOUNCE_FIRST_RETRY_SECONDS
    while True:
        try:
            await supervisor.announce(f"http://{hostname}:{args.port}", token)
        except (SupervisorError, aiohttp.ClientError, TimeoutError) as err:
            _LOGGER.warning("announcing to Home Assistant failed (%s); retrying in %ss", err, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _ANNOUNCE_MAX_RETRY_SECONDS)
        else:
            return


async def _serve(args: argparse.Namespace) -> int:
    supervisor_token = os.environ.get("SUPERVISOR_TOKEN")
    supervisor = (
        None
        if not supervisor_token
        else Supervisor(url=args.supervisor_url, token=supervisor_token)
    )
    broker = None if args.mqtt_url is None else BrokerSettings.from_url(args.mqtt_url)
    if broker is None and supervisor is not None:
        broker = await supervisor.mqtt_broker()
    clock = ledger_clock.wall_clock_us
    if args.now is not None:
        clock = ledger_clock.clock_from(args.now)
        _LOGGER.warning("the ledger's clock starts at %s, not the wall clock (--now)", args.now)
    service = LedgerService(_config(args, broker), clock=clock)
    await service.start()
    portal = None
    if args.portal_port is not None:
        # Its own runner: this port serves the tenant portal's door and nothing else. It
        # opens before the API port, so a ledger that answers /api/health serves both.
        door = create_portal_app(service, portal_url=_portal_url(args))
        portal = web.AppRunner(door, access_log=None)
        await portal.setup()
        await web.TCPSite(portal, args.host, args.portal_port).start()
        _LOGGER.info("tenant portal listening on %s:%s", args.host, args.portal_port)
    runner = web.AppRunner(_app(args, service), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    _LOGGER.info("ledger listening on %s:%s", args.host, args.port)
    announcing = (
        None
        if supervisor is None
        else asyncio.create_task(_announce(args, service, supervisor), name="ledger-announce")
    )
    try:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        if announcing is not None:
            announcing.cancel()
        if portal is not None:
            await portal.cleanup()
        await runner.cleanup()
        await service.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    _LOGGER.info("ledger starting with data in %s", data_dir)
    status = asyncio.run(_serve(args))
    _LOGGER.info("ledger stopped")
    return status
