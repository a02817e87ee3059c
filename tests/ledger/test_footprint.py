"""What a serving ledger holds in memory: only what serving needs, loaded at start."""

from pathlib import Path
import subprocess
import sys

import tenant_ledger

ADDON_DIR = Path(tenant_ledger.__file__).resolve().parents[1]
PDF_LIBRARIES = {"fpdf", "fontTools", "PIL", "numpy"}


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
