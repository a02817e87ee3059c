"""Secrets never on a command line: ``ps`` shows every process's arguments to every user.

The ledger takes its admin token from a file or the environment; the demo's and the tests'
ledger processes pass it in the environment. Real subprocesses, read back through /proc and ps.
"""

from collections.abc import Iterator
from pathlib import Path
import subprocess
import urllib.error
import urllib.request

import pytest

from tenant_sim.ledger_api import LedgerApiError
from tenant_sim.net import free_port

from .ledger_process import TOKEN, LedgerProcess


@pytest.fixture(autouse=True)
def _real_sockets(socket_enabled: None) -> None:
    """These tests talk to real ledger processes on 127.0.0.1."""


@pytest.fixture
def started(tmp_path: Path) -> Iterator[LedgerProcess]:
    process = LedgerProcess(tmp_path / "ledger")
    process.start()
    yield process
    process.stop()


def _command_lines() -> str:
    return subprocess.run(
        ["/bin/ps", "-eo", "args"], capture_output=True, text=True, check=True
    ).stdout


def test_ps_does_not_show_the_admin_token(started: LedgerProcess) -> None:
    assert started.process is not None
    cmdline = Path(f"/proc/{started.process.pid}/cmdline").read_bytes()
    assert b"serve" in cmdline
    assert TOKEN.encode() not in cmdline
    assert TOKEN not in _command_lines()
    assert started.call("GET", "/api/tenants") == {"tenants": []}  # accepted


def test_the_admin_token_file_is_read_and_wins_over_the_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "admin-token"
    token_file.write_text("token-from-the-file\n", encoding="utf-8")
    process = LedgerProcess(tmp_path / "ledger", "--admin-token-file", str(token_file))
    process.start()
    try:
        assert process.call("GET", "/api/tenants", token="token-from-the-file") == {"tenants": []}
        with pytest.raises(LedgerApiError) as refused:
            process.call("GET", "/api/tenants")  # TOKEN, in the environment
        assert refused.value.status == 401
        assert "token-from-the-file" not in _command_lines()
    finally:
        process.stop()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_the_portal_port_serves_the_door_and_not_the_api(tmp_path: Path) -> None:
    portal_port = free_port()
    process = LedgerProcess(tmp_path / "ledger", "--portal-port", str(portal_port))
    process.start()
    try:
        portal = f"http://127.0.0.1:{portal_port}"
        assert _status(f"{portal}/") == 401  # "you are not signed in"
        assert _status(f"{portal}/api/health") == 404
        assert _status(f"{portal}/tenants/t1/portal") == 404
        assert _status(f"{process.url}/api/health") == 200
    finally:
        process.stop()
