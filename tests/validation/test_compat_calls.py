"""Calls that differ between the Home Assistant releases we support go through ``compat.py``.

HA 2026 raises on the registry's identifier-only ``async_get_device`` (identifiers are unique
per config entry only); on 2025.4 its replacement does not exist yet. A direct call passes on
one release and fails on the other, so it is refused everywhere but in ``compat.py``.
"""

from pathlib import Path
import re

REPO_ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("custom_components", "tests", "tenant_sim", "bench")
ONLY_IN_COMPAT = re.compile(r"\.async_get_device\(|\bvia_device=|remove_config_entry_id")


def test_release_specific_calls_only_in_compat() -> None:
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for folder in SCANNED
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        if path.name != "compat.py" and path != Path(__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ONLY_IN_COMPAT.search(line)
    ]
    assert offenders == [], "use custom_components/tenant_metering/compat.py:\n" + "\n".join(
        offenders
    )
