"""What a serving ledger holds in memory: only what serving needs, loaded at start."""

from pathlib import Path
import subprocess
import sys

from alembic.config import Config
from alembic.script import ScriptDirectory

import tenant_ledger
from tenant_ledger.db import engine as db_engine

ADDON_DIR = Path(tenant_ledger.__file__).resolve().parents[1]
PDF_LIBRARIES = {"fpdf", "fontTools", "PIL", "numpy"}
HOLIDAY_CALENDARS = "holidays"


def _top_level_modules_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        cwd=ADDON_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return {name.partition(".")[0] for name in done.stdout.split()}


def test_serving_does_not_load_the_pdf_libraries() -> None:
    # fpdf2 and what it loads are about 35 MiB, a third of the serving ledger's memory; they
    # are loaded by the first PDF (the statement tests draw PDFs through the same to_pdf).
    loaded = _top_level_modules_after("import tenant_ledger.server, tenant_ledger.cli")
    assert "tenant_ledger" in loaded
    assert loaded & PDF_LIBRARIES == set()


def test_serving_loads_no_migration_tool_until_it_migrates() -> None:
    loaded = _top_level_modules_after("import tenant_ledger.server, tenant_ledger.cli")
    assert loaded & {"alembic", "mako", "pygments"} == set()


def test_a_database_at_the_newest_migration_starts_without_alembic(tmp_path: Path) -> None:
    open_and_upgrade = (
        "from tenant_ledger.db import engine as db_engine\n"
        f"engine = db_engine.create_engine(db_engine.default_url(Path({str(tmp_path)!r})))\n"
        "db_engine.upgrade(engine)\n"
        "assert db_engine.stored_revision(engine) == db_engine.HEAD_REVISION\n"
    )
    first = _top_level_modules_after(f"from pathlib import Path\n{open_and_upgrade}")
    again = _top_level_modules_after(f"from pathlib import Path\n{open_and_upgrade}")
    assert "alembic" in first
    assert "alembic" not in again


def test_the_newest_migration_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", "tenant_ledger:migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == db_engine.HEAD_REVISION


def test_holiday_calendars_load_with_the_first_tariff_that_names_one() -> None:
    loaded = _top_level_modules_after("import tenant_ledger.server, tenant_ledger.cli")
    assert HOLIDAY_CALENDARS not in loaded
    loaded = _top_level_modules_after(
        "from tenant_ledger.billing.tariffs import parse_tariff\n"
        "parse_tariff({'currency': 'EUR', 'timezone': 'Europe/Berlin', 'energy': {'type': 'tou', "
        "'default_band': 'day', 'bands': {'day': '0.30'}, 'schedule': [], "
        "'holidays': {'country': 'DE', 'treat_as': 'sun'}}})"
    )
    assert HOLIDAY_CALENDARS in loaded
