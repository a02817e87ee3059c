"""The ledger service as a child process (``python -m tenant_ledger serve``), for the demo.

A separate process, as in production (the add-on container): the demo talks to it only over
its REST API and MQTT, and stopping it is a plain SIGTERM.
"""

import asyncio
from collections.abc import Sequence
import os
from pathlib import Path
import subprocess
import sys

from tenant_sim.building import CURRENCY, PREFIX, TIMEZONE
from tenant_sim.net import wait_for_port

REPO_ROOT = Path(__file__).resolve().parent.parent


class LedgerProcess:
    """One ledger with its data directory, log file and admin token."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int,
        mqtt_url: str | None,
        admin_token: str,
        landlords: Sequence[str] = (),
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        """``mqtt_url=None``: API only (e.g. to read a finished simulation's statements).

        ``landlords``: HA user names with the landlord console; ``trusted_proxies``: addresses
        whose ``X-Remote-User-*`` headers the web UI believes (the demo's ingress stand-in).
        """
        self.data_dir = data_dir
        self.landlords = tuple(landlords)
        self.trusted_proxies = tuple(trusted_proxies)
        self.port = port
        self.mqtt_url = mqtt_url
        self.admin_token = admin_token
        self.log_path = data_dir / "ledger.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, start_timeout: float = 60) -> None:
        self._spawn()
        try:
            await asyncio.to_thread(wait_for_port, self.port, start_timeout)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"the ledger did not start; see {self.log_path}") from None
        if not self.running:
            raise RuntimeError(f"the ledger exited at start; see {self.log_path}")

    def _spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "tenant_ledger", "serve",
            "--data-dir", str(self.data_dir), "--port", str(self.port),
            f"--admin-token={self.admin_token}",
            "--prefix", PREFIX, "--currency", CURRENCY, "--timezone", TIMEZONE,
        ]  # fmt: skip
        if self.mqtt_url is not None:
            argv += ["--mqtt-url", self.mqtt_url]
        if self.landlords:
            argv += ["--admin-users", ",".join(self.landlords)]
        if self.trusted_proxies:
            argv += ["--trusted-proxies", ",".join(self.trusted_proxies)]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon")}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM and wait (the ledger commits and says goodbye on MQTT); SIGKILL if stuck."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
