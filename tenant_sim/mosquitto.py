"""Run a real Mosquitto broker on 127.0.0.1, for tests and the demo."""

import getpass
from pathlib import Path
import shutil
import subprocess
from types import TracebackType
from typing import Self

from tenant_sim.net import LOOPBACK, free_port, wait_for_port

_SBIN_FALLBACK = Path("/usr/sbin/mosquitto")


def mosquitto_binary() -> str:
    """Path of the mosquitto binary (Debian installs it in /usr/sbin, often not on PATH)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    if _SBIN_FALLBACK.exists():
        return str(_SBIN_FALLBACK)
    raise FileNotFoundError("mosquitto is not installed; scripts/test and scripts/demo install it")


class MosquittoBroker:
    """One broker process with its own config and persistence directory.

    ``restart()`` keeps the port and the persistence file, so retained messages and
    persistent sessions survive it the way they survive a real broker restart.

    ``tcp_nodelay``: the broker sends each packet at once (``set_tcp_nodelay true``, as
    docs/integration.md recommends) instead of holding a small one until the client
    acknowledges the previous one, which a client's delayed ACK makes take 40 ms.
    """

    def __init__(
        self, work_dir: Path, port: int | None = None, *, tcp_nodelay: bool = False
    ) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        self.tcp_nodelay = tcp_nodelay
        self.work_dir = work_dir
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path = work_dir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _write_config(self) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = self.work_dir / "mosquitto.conf"
        config.write_text(
            "\n".join(
                [
                    f"listener {self.port} {self.host}",
                    "allow_anonymous true",
                    # Run as whoever started us; as root it would switch to a "mosquitto"
                    # user that cannot write the persistence file into our directory.
                    f"user {getpass.getuser()}",
                    "persistence true",
                    f"persistence_location {self.work_dir}/",
                    "autosave_interval 1",
                    f"log_dest file {self.log_path}",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "max_queued_messages 1000000",
                    f"set_tcp_nodelay {'true' if self.tcp_nodelay else 'false'}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        return config

    def start(self) -> None:
        if self.running:
            return
        config = self._write_config()
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, our own binary lookup
            [mosquitto_binary(), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            log = self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {log}") from None

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), which also writes the persistence file."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
