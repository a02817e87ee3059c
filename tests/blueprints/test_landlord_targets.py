"""Landlord alerts go only to the landlord's own notify target, never to one every HA user sees.

``notify.notify`` reaches every mobile app and ``persistent_notification`` shows in every
user's sidebar; the alerts carry tenants' names and balances. So the landlord's target has no
default: a blueprint without it does not run.
"""

from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall
import pytest
import yaml

from .conftest import BLUEPRINT_SOURCE, LoadBlueprint
from .test_alarms import low_balance_inputs

SEEN_BY_EVERYONE = ("notify.notify", "notify.persistent_notification", "persistent_notification")
BLUEPRINTS = sorted(BLUEPRINT_SOURCE.glob("*.yaml"))


class _BlueprintLoader(yaml.SafeLoader):
    """YAML with HA's ``!input`` tag (its value is the input's name)."""


def _input(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> dict[str, str]:
    return {"!input": str(loader.construct_scalar(node))}


_BlueprintLoader.add_constructor("!input", _input)


def _inputs(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every input of the blueprint, including those inside collapsible sections."""
    found: dict[str, dict[str, Any]] = {}
    for name, spec in section.items():
        if "input" in spec:
            found |= _inputs(spec["input"])
        else:
            found[name] = spec
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("path", BLUEPRINTS, ids=[path.name for path in BLUEPRINTS])
def test_the_landlord_target_is_required_and_nothing_defaults_to_everyone(path: Path) -> None:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_BlueprintLoader)
    inputs = _inputs(document["blueprint"]["input"])
    landlord = inputs["notify_service"]
    assert "default" not in landlord, "the landlord's target must be chosen, never defaulted"
    assert "landlord's own device" in landlord["description"]
    for name, spec in inputs.items():
        assert spec.get("default") not in SEEN_BY_EVERYONE, name
    actions = [text for text in _strings(document) if text.strip() in SEEN_BY_EVERYONE]
    assert actions == []


async def test_a_low_balance_alarm_without_the_landlord_target_does_not_run(
    blueprint_hass: HomeAssistant, landlord: list[ServiceCall], load_blueprint: LoadBlueprint
) -> None:
    inputs = low_balance_inputs()
    del inputs["notify_service"]
    with pytest.raises(AssertionError):
        await load_blueprint("low_balance_alarm.yaml", inputs)
    state = blueprint_hass.states.get("automation.tenant_metering")
    assert state is None or state.state != "on"
