"""Block planning: contiguous registers in as few reads as the rules allow."""

import pytest

from custom_components.tenant_metering.sources.modbus.core import (
    MeterConfig,
    MeterPoller,
    ModbusBus,
)
from custom_components.tenant_metering.sources.modbus.core.bus import GatewayConfig, Transport
from custom_components.tenant_metering.sources.modbus.core.planner import ReadBlock, plan_blocks
from custom_components.tenant_metering.sources.modbus.core.profile import Profile, Table


def block(table: Table, address: int, count: int) -> ReadBlock:
    return ReadBlock(table=table, address=address, count=count)


def planned(profile: Profile, channel_count: int | None = None) -> list[tuple[str, int, int]]:
    bus = ModbusBus(GatewayConfig(transport=Transport.TCP, host="127.0.0.1"))
    poller = MeterPoller(bus, MeterConfig(profile=profile, slave_id=1, channel_count=channel_count))
    return [(b.table.value, b.address, b.count) for b in poller.blocks]


def test_small_gaps_merge_large_gaps_split() -> None:
    spans = [block(Table.INPUT, 0, 2), block(Table.INPUT, 18, 2), block(Table.INPUT, 37, 2)]
    assert plan_blocks(spans, max_gap=16) == (block(Table.INPUT, 0, 20), block(Table.INPUT, 37, 2))
    assert len(plan_blocks(spans, max_gap=0)) == 3


def test_blocks_respect_the_125_register_limit_without_splitting_values() -> None:
    spans = [block(Table.HOLDING, address, 2) for address in range(0, 300, 2)]
    blocks = plan_blocks(spans, max_gap=16)
    assert [(b.address, b.count) for b in blocks] == [(0, 124), (124, 124), (248, 52)]


def test_tables_never_share_a_block_and_overlaps_collapse() -> None:
    spans = [
        block(Table.INPUT, 0, 2),
        block(Table.HOLDING, 2, 1),
        block(Table.INPUT, 0, 2),
        block(Table.COIL, 0, 1),
        block(Table.COIL, 200, 1),
    ]
    assert plan_blocks(spans, max_gap=16) == (
        block(Table.COIL, 0, 201),
        block(Table.HOLDING, 2, 1),
        block(Table.INPUT, 0, 2),
    )


def test_oversized_span_is_refused() -> None:
    with pytest.raises(ValueError, match="125-address read limit"):
        plan_blocks([block(Table.INPUT, 0, 126)], max_gap=0)


def test_built_in_profiles_plan(profiles: dict[str, Profile]) -> None:
    assert planned(profiles["peacefair_pzem016"]) == [("input", 0, 9)]
    assert planned(profiles["eastron_sdm120"]) == [("input", 0, 32), ("input", 0x46, 4)]
    assert planned(profiles["eastron_sdm630"]) == [("input", 0, 0x4A), ("input", 0x15A, 6)]
    assert planned(profiles["generic_prepaid_relay"]) == [
        ("holding", 0x2000, 16),
        ("holding", 0x2100, 1),
        ("holding", 0x4000, 2),
    ]
    assert planned(profiles["generic_multi_circuit"], 18) == [
        ("coil", 0, 18),
        ("holding", 0x100, 125),
        ("holding", 0x17D, 19),
    ]
    assert planned(profiles["generic_multi_circuit"], 12) == [
        ("coil", 0, 12),
        ("holding", 0x100, 96),
    ]
