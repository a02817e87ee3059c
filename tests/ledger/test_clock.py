"""The ledger's clock: ``serve --now`` starts it at an instant, then it runs at real speed."""

from datetime import UTC, datetime, timedelta, timezone
import os
import subprocess
import sys
import time

import pytest

from tenant_ledger.clock import clock_from, parse_instant

from .ledger_process import REPO_ROOT


def test_a_started_clock_reads_its_start_then_runs_at_real_speed() -> None:
    start = datetime(2028, 2, 29, 23, 59, 59, 500_000, tzinfo=UTC)
    clock = clock_from(start)
    first = clock()
    time.sleep(0.05)
    second = clock()
    start_us = int(start.timestamp()) * 1_000_000 + 500_000
    assert 0 <= first - start_us < 50_000
    assert 50_000 <= second - first < 1_000_000


def test_instants_need_an_offset() -> None:
    assert parse_instant("2026-10-25T02:30:00+01:00") == datetime(
        2026, 10, 25, 2, 30, tzinfo=timezone(timedelta(hours=1))
    )
    assert parse_instant("2026-12-31T23:30:00Z").tzinfo is not None
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_instant("2026-10-25T02:30:00")
    with pytest.raises(ValueError, match="not an ISO 8601"):
        parse_instant("yesterday")
    with pytest.raises(ValueError, match="UTC offset"):
        clock_from(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_serve_refuses_a_bad_now_with_a_clear_message(tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenant_ledger",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--now",
            "2026-10-25 02:30",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--now: '2026-10-25 02:30' has no UTC offset" in result.stderr
