"""``python -m tenant_ledger serve``: run the ledger service until SIGTERM or Ctrl-C."""

import argparse
import logging
import os
from pathlib import Path

from aiohttp import web

from tenant_ledger.app import create_app

_LOGGER = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("TENANT_LEDGER_DATA_DIR", "/data")),
        help="directory for the database and state (default: $TENANT_LEDGER_DATA_DIR or /data)",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("TENANT_LEDGER_HOST", "127.0.0.1"),
        help="address to listen on (the add-on listens on 0.0.0.0 for ingress)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("TENANT_LEDGER_PORT", "8099")),
        help="TCP port of the web UI and REST API",
    )
    parser.add_argument("--log-level", default=os.environ.get("TENANT_LEDGER_LOG_LEVEL", "info"))


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    _LOGGER.info("ledger starting on %s:%s with data in %s", args.host, args.port, data_dir)
    # run_app handles SIGTERM and SIGINT by shutting the application down gracefully.
    web.run_app(create_app(), host=args.host, port=args.port, print=None)
    _LOGGER.info("ledger stopped")
    return 0
