"""The import rules (.importlinter, checked by ``lint-imports`` in scripts/test) cover every module.

import-linter leaves a module it is not told about unconstrained, so a new top-level module of
the ledger must be placed in a layer, and must be kept away from the tables unless it is storage.
"""

import configparser
from pathlib import Path
import re

REPO_ROOT = Path(__file__).resolve().parents[1]
LEDGER = REPO_ROOT / "addon" / "tenant_ledger"
STORAGE = {"db", "migrations"}


def _contract(name: str) -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / ".importlinter", encoding="utf-8")
    return config[f"importlinter:contract:{name}"]


def _top_level_modules() -> set[str]:
    names = {path.stem for path in LEDGER.glob("*.py") if path.stem != "__init__"}
    names |= {path.parent.name for path in LEDGER.glob("*/__init__.py")}
    return names


def test_every_ledger_module_has_a_layer() -> None:
    layers = _contract("ledger-layers")["layers"]
    placed = set(re.findall(r"[A-Za-z_0-9]+", layers))
    assert _top_level_modules() - placed == set()
    assert placed - _top_level_modules() == set(), "a layer names a module that does not exist"


def test_only_storage_may_know_the_tables() -> None:
    sources = _contract("sql-in-db")["source_modules"].split()
    kept_away = {name.removeprefix("tenant_ledger.") for name in sources}
    assert kept_away == _top_level_modules() - STORAGE
