"""The Modbus core stays free of Home Assistant, so it runs and tests without it."""

import ast
from pathlib import Path

import custom_components.tenant_metering.sources.modbus.core as modbus_package

PACKAGE_DIR = Path(modbus_package.__file__).parent


def test_no_module_of_the_core_imports_home_assistant() -> None:
    offenders = []
    for module in sorted(PACKAGE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{module.name}: {n}" for n in names if n.startswith("homeassistant")]
    assert offenders == []


def test_public_api_is_exported() -> None:
    assert {"ModbusBus", "MeterPoller", "load_profiles", "ChannelReading"} <= set(
        modbus_package.__all__
    )
