"""The ledger as a real subprocess (``python -m tenant_ledger serve``) for crash tests."""

import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any
import urllib.error
import urllib.request

from tenant_sim.net import free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "process-admin-token"


class LedgerProcess:
    def __init__(self, data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.extra = extra
        self.env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon"), **(env or {})}
        self.log_path = data_dir.parent / f"ledger-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            sys.executable, "-m", "tenant_ledger", "serve",
            "--data-dir", str(self.data_dir), "--port", str(self.port),
            "--admin-token", TOKEN, "--timezone", "Europe/Berlin", *self.extra,
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.port, timeout=30)
        except TimeoutError:
            raise RuntimeError(self.log()) from None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last words (the broker publishes our will)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def call(self, method: str, path: str, body: Any = None, token: str = TOKEN) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{method} {path}: {err.code} {err.read()!r}") from None
