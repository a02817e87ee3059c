"""The ledger service as a child process (``python -m tenant_ledger serve``).

A separate process, as in production (the add-on container): the demo, the tests and the
benchmarks talk to it only over its REST API and MQTT. ``stop`` is a plain SIGTERM, ``kill``
a SIGKILL; ``start`` again runs it on the same data directory and port.
"""

from collections.abc import Mapping, Sequence
import os
from pathlib import Path
import subprocess
import sys

from tenant_sim.building import CURRENCY, PREFIX, TIMEZONE
from tenant_sim.clock import SimClock
from tenant_sim.ledger_api import LedgerApi
from tenant_sim.net import LOOPBACK, free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVE_MODULE = ("-m", "tenant_ledger")
"""What follows the interpreter on the command line, before ``serve``."""
LOG_TAIL_CHARS = 3000
ADMIN_TOKEN_VARIABLE = "TENANT_LEDGER_ADMIN_TOKEN"  # noqa: S105 - the name, not a token


def building_args(
    *, landlords: Sequence[str] = (), trusted_proxies: Sequence[str] = ()
) -> list[str]:
    """``serve`` options for the demo building.

    ``landlords``: HA user names with the landlord console; ``trusted_proxies``: addresses
    whose ``X-Remote-User-*`` headers the web UI believes (the demo's ingress stand-in).
    """
    args = ["--prefix", PREFIX, "--currency", CURRENCY, "--timezone", TIMEZONE]
    if landlords:
        args += ["--admin-users", ",".join(landlords)]
    if trusted_proxies:
        args += ["--trusted-proxies", ",".join(trusted_proxies)]
    return args


class LedgerProcess:
    """One ledger with its data directory, port, log file and admin token."""

    def __init__(
        self,
        data_dir: Path,
        *,
        admin_token: str,
        port: int | None = None,
        mqtt_url: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        launcher: Sequence[str] = SERVE_MODULE,
        clock: SimClock | None = None,
    ) -> None:
        """``port=None``: a free one. ``mqtt_url=None``: API only (e.g. to read a finished
        simulation's statements). ``args``: more ``serve`` options; ``env``: added to ours.

        ``launcher`` replaces ``-m tenant_ledger`` (a test's ``-c`` script that installs hooks
        before calling the ledger's ``main`` with the rest of the command line).

        ``clock``: a started clock makes every start ``serve --now`` its current reading, so
        the ledger's time runs on across restarts as the simulation's does.
        """
        self.data_dir = data_dir
        self.admin_token = admin_token
        self.port = free_port() if port is None else port
        self.mqtt_url = mqtt_url
        self.args = tuple(args)
        self.env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon"), **(env or {})}
        self.log_path = data_dir / "ledger.log" if log_path is None else log_path
        self.launcher = tuple(launcher)
        self.clock = clock
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def api(self, token: str | None = None) -> LedgerApi:
        """A client with the admin token (or ``token``); use it as an async context manager."""
        return LedgerApi(self.url, token or self.admin_token)

    def start(self, timeout: float = 60) -> None:
        """Start and wait until the API accepts connections (blocking)."""
        self._spawn()
        try:
            wait_for_port(self.port, timeout)
        except TimeoutError:
            self.stop()
            raise RuntimeError(self._failure("did not start")) from None
        if not self.running:
            raise RuntimeError(self._failure("exited at start"))

    def _spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, *self.launcher, "serve",
            "--data-dir", str(self.data_dir), "--port", str(self.port),
        ]  # fmt: skip
        if self.mqtt_url is not None:
            argv += ["--mqtt-url", self.mqtt_url]
        if self.clock is not None and not self.clock.is_wall_clock:
            argv += ["--now", self.clock.now().isoformat()]
        argv += self.args
        # Own session: a Ctrl-C meant for the caller does not reach the ledger, whose stop
        # stays the caller's.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
                argv,
                # The token in the environment, never on the command line (ps shows that).
                env={**self.env, ADMIN_TOKEN_VARIABLE: self.admin_token},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _failure(self, what: str) -> str:
        return f"the ledger {what}; {self.log_path} ends:\n{self.log()[-LOG_TAIL_CHARS:]}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM and wait (the ledger commits and says goodbye on MQTT); SIGKILL if stuck.

        Returns the exit status (``None``: never started).
        """
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last words (the broker publishes the ledger's will)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
