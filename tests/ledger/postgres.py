"""A throw-away PostgreSQL server for the tests that prove the SQL is portable.

Started from the OS packages when they are installed (as the ``postgres`` user when the tests
run as root, which PostgreSQL refuses), reached over a Unix socket in its own directory.
"""

import os
from pathlib import Path
import shutil
import subprocess
from types import TracebackType
from typing import Self

_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
SUPERUSER = "ledger"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = [directory / name for directory in _BIN_DIRS if (directory / name).exists()]
    return str(candidates[0]) if candidates else None


def available() -> bool:
    return _binary("initdb") is not None and _binary("pg_ctl") is not None


class PostgresServer:
    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.data_dir = work_dir / "data"
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as_user, *argv], check=True, capture_output=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.work_dir}"

    def __enter__(self) -> Self:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self._as_user:
            shutil.chown(self.work_dir, user="postgres")
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        assert initdb is not None
        assert pg_ctl is not None
        self._run(initdb, "-D", str(self.data_dir), "-A", "trust", "-U", SUPERUSER, "--no-sync")
        options = f"-k {self.work_dir} -c listen_addresses='' -c fsync=off"
        self._run(
            pg_ctl,
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.work_dir / "log"),
            "-w",
            "start",
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pg_ctl = _binary("pg_ctl")
        assert pg_ctl is not None
        self._run(pg_ctl, "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
