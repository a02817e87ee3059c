"""The import rules (.importlinter, checked by ``lint-imports`` in scripts/test) cover every module.

import-linter leaves a module it is not told about unconstrained, so a new top-level module of
the ledger must be placed in a layer, and must be kept away from the tables unless it is storage.
"""

import configparser
from pathlib import Path
import re

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LEDGER = REPO_ROOT / "addon" / "tenant_ledger"
INTEGRATION = REPO_ROOT / "custom_components" / "tenant_metering"
STORAGE = {"db", "migrations"}


def _contract(name: str) -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / ".importlinter", encoding="utf-8")
    return config[f"importlinter:contract:{name}"]


def _top_level_modules(package: Path = LEDGER) -> set[str]:
    names = {path.stem for path in package.glob("*.py") if path.stem != "__init__"}
    names |= {path.parent.name for path in package.glob("*/__init__.py")}
    return names


@pytest.mark.parametrize(
    ("contract", "package"), [("ledger-layers", LEDGER), ("integration-layers", INTEGRATION)]
)
def test_every_module_has_a_layer(contract: str, package: Path) -> None:
    placed = set(re.findall(r"[A-Za-z_0-9]+", _contract(contract)["layers"]))
    assert _top_level_modules(package) - placed == set()
    assert placed - _top_level_modules(package) == set(), "a layer names no module"


def test_every_source_is_kept_apart() -> None:
    sources = {path.parent.name for path in (INTEGRATION / "sources").glob("*/__init__.py")}
    independent = _contract("sources-independent")["modules"].split()
    assert {name.rpartition(".")[2] for name in independent} == sources


def test_only_storage_may_know_the_tables() -> None:
    sources = _contract("sql-in-db")["source_modules"].split()
    kept_away = {name.removeprefix("tenant_ledger.") for name in sources}
    assert kept_away == _top_level_modules() - STORAGE
