"""translations/en.json is strings.json, so HA shows what we wrote."""

import json
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "tenant_metering"


def test_english_translation_matches_strings() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    english = json.loads((INTEGRATION / "translations" / "en.json").read_text(encoding="utf-8"))
    assert english == strings
