"""Every blueprint passes HA's own blueprint schema and targets HA 2025.4."""

from pathlib import Path

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.util.yaml import load_yaml_dict
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BLUEPRINT_DIR = REPO_ROOT / "blueprints" / "automation" / "tenant_metering"
BLUEPRINTS = sorted(BLUEPRINT_DIR.glob("*.yaml"))


def test_blueprint_folder_exists() -> None:
    assert BLUEPRINT_DIR.is_dir()


@pytest.mark.parametrize("path", BLUEPRINTS, ids=[path.name for path in BLUEPRINTS])
def test_blueprint_schema(path: Path) -> None:
    blueprint = Blueprint(
        load_yaml_dict(str(path)),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.metadata["homeassistant"]["min_version"] == "2025.4.0"
    assert blueprint.metadata["description"]
