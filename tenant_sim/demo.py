"""The main job: start a simulated building on 127.0.0.1 and keep it running until Ctrl-C.

Today it starts what exists: a Mosquitto broker and the ledger service. Breakers, Modbus
meters and Home Assistant join as their parts land.
"""

import argparse
from collections.abc import Sequence
import os
from pathlib import Path
import signal
import subprocess
import sys
from types import FrameType

from tenant_sim.mosquitto import MosquittoBroker
from tenant_sim.net import free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parent.parent


def _step(message: str) -> None:
    print(f"  • {message}", flush=True)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "demo-data")
    parser.add_argument("--ledger-port", type=int, default=8099)
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)

    print("Starting the Tenant Metering demo building…", flush=True)
    broker = MosquittoBroker(data_dir / "mosquitto", port=free_port())
    broker.start()
    _step(f"Mosquitto broker on {broker.url}")

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon")}
    ledger = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "tenant_ledger",
            "serve",
            "--data-dir",
            str(data_dir / "ledger"),
            "--port",
            str(args.ledger_port),
        ],
        env=env,
    )
    try:
        wait_for_port(args.ledger_port, timeout=30)
        _step(f"Ledger on http://127.0.0.1:{args.ledger_port}/api/health")
        print("Running. Press Ctrl-C to stop.", flush=True)

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _stop)
        try:
            ledger.wait()
        except KeyboardInterrupt:
            print("\nStopping…", flush=True)
    finally:
        if ledger.poll() is None:
            ledger.terminate()
            ledger.wait(timeout=15)
        broker.stop()
    _step("stopped cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
