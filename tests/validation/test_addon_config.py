"""addon/config.yaml follows the Supervisor's rules as HA_COMPAT.md states them."""

from pathlib import Path
import re
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDON = REPO_ROOT / "addon"
CONFIG: dict[str, Any] = yaml.safe_load((ADDON / "config.yaml").read_text(encoding="utf-8"))

SCHEMA_TYPE = re.compile(
    r"^(bool|email|url|port|password|str|"
    r"int(\(-?\d*,-?\d*\))?|float(\(-?[\d.]*,-?[\d.]*\))?|match\(.+\)|list\([^|()]+(\|[^|()]+)*\))"
    r"\??$"
)
# Files that must never shadow the add-on: the Supervisor globs **/config.yaml|json.
# Not in a clone of the repository: git, caches and the venvs (.newest-ha/ is ignored by git).
IGNORED_DIRS = {".git", ".venv", ".newest-ha", "node_modules", ".mypy_cache", ".ruff_cache"}


def _schema_leaves(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        return [leaf for value in schema.values() for leaf in _schema_leaves(value)]
    if isinstance(schema, list):
        return [leaf for value in schema for leaf in _schema_leaves(value)]
    return [schema]


def test_required_keys_and_arch() -> None:
    for key in ("name", "version", "slug", "description", "arch"):
        assert CONFIG.get(key), key
    assert isinstance(CONFIG["version"], str)
    assert re.fullmatch(r"[a-z0-9_]+", CONFIG["slug"])
    assert set(CONFIG["arch"]) <= {"aarch64", "amd64", "armhf", "armv7", "i386"}
    assert {"aarch64", "amd64"} <= set(CONFIG["arch"])


def test_ingress_services_discovery() -> None:
    assert CONFIG["ingress"] is True
    assert isinstance(CONFIG["ingress_port"], int)
    assert CONFIG["panel_admin"] is False, "tenants need the panel for their portal"
    assert CONFIG["panel_icon"].startswith("mdi:")
    assert "mqtt:need" in CONFIG["services"]
    assert CONFIG["discovery"] == ["tenant_metering"]


def test_the_tenant_portal_has_its_own_port_served_by_the_service() -> None:
    """Tenants reach the portal without Home Assistant: a port the add-on publishes."""
    assert CONFIG["ports"]["8100/tcp"] == 8100
    assert "8100/tcp" in CONFIG["ports_description"]
    run = (ADDON / "rootfs/etc/s6-overlay/s6-rc.d/tenant-ledger/run").read_text("utf-8")
    assert "--portal-port 8100" in run


def test_options_match_schema() -> None:
    schema = CONFIG["schema"]
    assert set(CONFIG["options"]) <= set(schema)
    for leaf in _schema_leaves(schema):
        assert SCHEMA_TYPE.match(leaf), f"unknown option schema type {leaf!r}"
    for name, value in CONFIG["options"].items():
        rule = schema[name]
        if isinstance(rule, str) and rule.startswith("match("):
            assert re.fullmatch(rule[len("match(") : -1], str(value)), name


def test_every_option_documented_and_translated() -> None:
    translations = yaml.safe_load((ADDON / "translations" / "en.yaml").read_text("utf-8"))
    docs = (ADDON / "DOCS.md").read_text(encoding="utf-8")
    for name in CONFIG["schema"]:
        assert translations["configuration"][name]["name"], name
        assert f"### Option: `{name}`" in docs, name
    assert f"## {CONFIG['version']}" in (ADDON / "CHANGELOG.md").read_text(encoding="utf-8")


def test_no_other_config_file_in_the_repository() -> None:
    found = []
    for directory, subdirs, files in REPO_ROOT.walk():
        # Pruned, not filtered: .newest-ha/ holds a whole Debian system (with /proc and /sys
        # mounted while scripts/test-newest-ha runs).
        subdirs[:] = [name for name in subdirs if name not in IGNORED_DIRS]
        found += [
            (directory / name).relative_to(REPO_ROOT)
            for name in files
            if name in ("config.yaml", "config.json")
        ]
    assert found == [Path("addon/config.yaml")]


def test_dockerfile_builds_from_base_and_pins_requirements() -> None:
    dockerfile = (ADDON / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("ARG BUILD_FROM\nFROM ${BUILD_FROM}")
    for line in (ADDON / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line), line
    run = ADDON / "rootfs/etc/s6-overlay/s6-rc.d/tenant-ledger/run"
    assert any(line.startswith("exec ") for line in run.read_text(encoding="utf-8").splitlines())
