"""The ledger service starts from the command line, answers health checks and stops on SIGTERM."""

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tenant_sim.net import free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_service_starts_answers_health_and_stops_on_sigterm(
    tmp_path: Path, socket_enabled: None
) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tenant_ledger", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=20)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as reply:
            assert reply.status == 200
            body = json.loads(reply.read())
        assert body["status"] == "ok"
        assert data_dir.is_dir()
        # The web UI is mounted too: a visitor without an HA identity is turned away, not lost.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert refused.value.code == 403

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        output = process.stdout.read().decode()
    assert "ledger stopped" in output
