"""hacs.json holds only keys HACS accepts, and the repository is a valid add-on store."""

import json
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
HACS_KEYS = {
    "name", "homeassistant", "render_readme", "zip_release", "filename", "country",
    "hide_default_branch", "persistent_directory", "content_in_root",
}  # fmt: skip


def test_hacs_json() -> None:
    hacs = json.loads((REPO_ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert isinstance(hacs["name"], str)
    assert hacs["name"]
    assert set(hacs) <= HACS_KEYS, set(hacs) - HACS_KEYS
    assert hacs["homeassistant"] == "2025.4.0"
    integrations = [path for path in (REPO_ROOT / "custom_components").iterdir() if path.is_dir()]
    assert [path.name for path in integrations if path.name != "__pycache__"] == ["tenant_metering"]


def test_repository_yaml() -> None:
    repository = yaml.safe_load((REPO_ROOT / "repository.yaml").read_text(encoding="utf-8"))
    assert set(repository) >= {"name", "url"}
