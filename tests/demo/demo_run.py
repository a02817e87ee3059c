"""``python -m tenant_sim`` (the demo) as a child process, for the demo's tests."""

import json
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


class DemoRun:
    """``python -m tenant_sim ARGS`` with its output in a file (no reader threads)."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.data_dir = tmp_path / "demo-data"
        self.output_path = tmp_path / "demo.out"
        argv = [sys.executable, "-m", "tenant_sim", "--data-dir", str(self.data_dir), *args]
        with self.output_path.open("wb") as out:
            self.process = subprocess.Popen(
                argv, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8")

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None:
                pytest.fail(f"the demo exited with {self.process.returncode}:\n{self.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} after {timeout} s:\n{self.output}")
            time.sleep(0.2)

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = json.loads((self.data_dir / "demo.json").read_text())
        return summary

    def stop(self, signum: int = signal.SIGINT, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the demo did not stop within {timeout} s:\n{self.output}")
