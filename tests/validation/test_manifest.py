"""manifest.json follows hassfest's rules as HA_COMPAT.md states them."""

import json
from pathlib import Path

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy

REPO_ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = REPO_ROOT / "custom_components" / "tenant_metering"
MANIFEST = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))

ALLOWED_KEYS = {
    "domain", "name", "after_dependencies", "bluetooth", "codeowners", "config_flow",
    "dependencies", "dhcp", "documentation", "homekit", "integration_type", "iot_class",
    "issue_tracker", "loggers", "mqtt", "quality_scale", "requirements", "single_config_entry",
    "ssdp", "usb", "version", "zeroconf",
}  # fmt: skip
REQUIRED_KEYS = {
    "domain", "name", "codeowners", "config_flow", "dependencies", "documentation",
    "integration_type", "iot_class", "issue_tracker", "requirements", "version",
}  # fmt: skip
IOT_CLASSES = {
    "assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push",
}  # fmt: skip


def test_keys_known_required_and_ordered() -> None:
    keys = list(MANIFEST)
    assert set(keys) <= ALLOWED_KEYS, set(keys) - ALLOWED_KEYS
    assert set(keys) >= REQUIRED_KEYS, REQUIRED_KEYS - set(keys)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_values() -> None:
    assert MANIFEST["domain"] == INTEGRATION.name
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["iot_class"] in IOT_CLASSES
    assert MANIFEST["integration_type"] in {"hub", "device", "service"}
    assert MANIFEST["documentation"].startswith("https://")
    assert "home-assistant.io" not in MANIFEST["documentation"]
    assert "mqtt" in MANIFEST["dependencies"]
    assert MANIFEST["mqtt"] == ["tenant_metering/discovery/#"]
    assert "voluptuous" not in " ".join(MANIFEST["requirements"])
    assert all("==" in requirement for requirement in MANIFEST["requirements"])
    version = AwesomeVersion(MANIFEST["version"])
    assert version.strategy in {AwesomeVersionStrategy.SEMVER, AwesomeVersionStrategy.SIMPLEVER}


def test_brand_icon_present() -> None:
    icon = INTEGRATION / "brand" / "icon.png"
    assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
