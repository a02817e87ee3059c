"""The ledger's chain head seen from Home Assistant: a truncation or re-chain is visible.

Removing the newest journal entries (or readings, statements) or rewriting them leaves the
ledger's database consistent with itself. Home Assistant remembers the newest head it saw,
across reloads and restarts, and raises a repair issue and an event when a head contradicts it.
"""

import json
from typing import Any
from unittest.mock import MagicMock

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.tenant_metering.chain_watch import (
    ChainHead,
    SeriesHead,
    parse_chain_head,
    rewinds,
)
from custom_components.tenant_metering.const import (
    DOMAIN,
    EVENT_LEDGER_REWOUND,
    ISSUE_LEDGER_REWOUND,
)

from .common import attributes_of, fire, state_of
from .fake_ledger import FakeLedger
from .test_ledger_link import setup_ledger

CHAIN_TOPIC = "tenant_metering/ledger/chain"
SENSOR = "sensor.tenant_metering_ledger_journal_head"
KEY = "0123456789abcdef"


def head(entry: int, readings: int = 100, statements: int = 2, **hashes: str) -> dict[str, Any]:
    """A published head; each hash made from its series and id unless given."""
    ids = {"journal": entry, "readings": readings, "statements": statements}
    return {
        name: {"id": number, "hash": hashes.get(name, f"{number:04x}{name[0] * 60}")}
        for name, number in ids.items()
    } | {"key": KEY}


async def _ledger_with_head(
    hass: HomeAssistant, fake_ledger: FakeLedger, published: dict[str, Any]
) -> MockConfigEntry:
    entry = await setup_ledger(hass, fake_ledger)
    fire(hass, CHAIN_TOPIC, published, retain=True)
    await hass.async_block_till_done()
    return entry


async def test_the_journal_head_sensor_shows_the_published_head(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    assert state_of(hass, SENSOR) == STATE_UNAVAILABLE  # nothing published yet
    published = head(42)
    fire(hass, CHAIN_TOPIC, published, retain=True)
    await hass.async_block_till_done()
    assert state_of(hass, SENSOR) == "42"
    attributes = attributes_of(hass, SENSOR)
    assert (attributes["journal_id"], attributes["readings_id"], attributes["statements_id"]) == (
        42,
        100,
        2,
    )
    assert attributes["journal_hash"] == published["journal"]["hash"]
    assert attributes["key"] == KEY
    # What `verify --seen-head` takes, as it was published.
    assert parse_chain_head(json.loads(attributes["seen_head"])) == (parse_chain_head(published))


@pytest.mark.parametrize(
    ("later", "series"),
    [
        (head(41), "journal"),  # the newest entry removed
        (head(42, readings=90), "readings"),  # the newest readings removed
        (head(42, statements=1), "statements"),
        (head(42, journal="f" * 64), "journal"),  # entry 42 rewritten
        (head(42) | {"key": "ffffffffffffffff"}, "key"),  # another key
    ],
    ids=["journal-back", "readings-back", "statements-back", "rewritten", "new-key"],
)
async def test_a_head_that_contradicts_the_one_seen_raises_an_issue_and_an_event(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    issue_registry: ir.IssueRegistry,
    later: dict[str, Any],
    series: str,
) -> None:
    events: list[Event] = async_capture_events(hass, EVENT_LEDGER_REWOUND)
    await _ledger_with_head(hass, fake_ledger, head(42))
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_REWOUND) is None

    fire(hass, CHAIN_TOPIC, later)
    await hass.async_block_till_done()
    assert [event.data["series"] for event in events] == [series]
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_REWOUND)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.CRITICAL
    assert issue.is_persistent
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["details"].startswith(f"{series}: ")

    # The ledger goes on from there: no new alarm, and the issue stays until dismissed.
    entry = later["journal"]["id"] + 1
    fire(hass, CHAIN_TOPIC, later | {"journal": {"id": entry, "hash": f"{entry:064x}"}})
    await hass.async_block_till_done()
    assert len(events) == 1
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_REWOUND) is not None


async def test_moving_forward_raises_nothing(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    issue_registry: ir.IssueRegistry,
) -> None:
    events: list[Event] = async_capture_events(hass, EVENT_LEDGER_REWOUND)
    await _ledger_with_head(hass, fake_ledger, head(42))
    for entry in (42, 43, 50):  # the same head again (retained, after a restart) is fine
        fire(hass, CHAIN_TOPIC, head(entry, readings=100 + entry))
        await hass.async_block_till_done()
    assert events == []
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_REWOUND) is None
    assert state_of(hass, SENSOR) == "50"


async def test_the_head_seen_survives_a_reload(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Truncated while Home Assistant (or the link) was away: the retained head tells."""
    entry = await _ledger_with_head(hass, fake_ledger, head(42))
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    fire(hass, CHAIN_TOPIC, head(40), retain=True)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_LEDGER_REWOUND)
    assert issue is not None
    assert issue.translation_placeholders == {
        "details": "journal: 42 (002ajjjjjjjj) → 40 (0028jjjjjjjj)"
    }


async def test_the_head_seen_is_stored_for_the_next_start(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    hass_storage: dict[str, Any],
) -> None:
    entry = await _ledger_with_head(hass, fake_ledger, head(42))
    assert await hass.config_entries.async_unload(entry.entry_id)
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}.chain"]["data"]
    assert parse_chain_head(stored) == parse_chain_head(head(42))


@pytest.mark.parametrize(
    "payload",
    ["not json", "[]", '{"journal": {"id": "7"}}', '{"journal": {"id": -1, "hash": null}}'],
)
async def test_a_malformed_head_is_ignored(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger, payload: str
) -> None:
    await _ledger_with_head(hass, fake_ledger, head(42))
    fire(hass, CHAIN_TOPIC, payload)
    await hass.async_block_till_done()
    assert state_of(hass, SENSOR) == "42"


def test_rewinds_are_named_by_series() -> None:
    seen = ChainHead(
        series={
            "journal": SeriesHead(id=5, hash="a" * 64),
            "readings": SeriesHead(id=9, hash=None),
        },
        key=KEY,
    )
    now = ChainHead(
        series={
            "journal": SeriesHead(id=5, hash="b" * 64),
            "readings": SeriesHead(id=3, hash=None),
        },
        key=KEY,
    )
    assert [str(rewind) for rewind in rewinds(seen, now)] == [
        f"journal: 5 ({'a' * 12}) → 5 ({'b' * 12})",
        "readings: 9 (-) → 3 (-)",
    ]
    assert rewinds(None, now) == []
