"""Leak watches: the landlord sets them, readings are judged night by night, alarms recorded.

An alarm is recorded once per point and night (the database refuses a second one), so replays,
duplicates and restarts never raise it twice; the ledger publishes what was recorded.
"""

from collections.abc import Collection, Mapping
import logging
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing.night_flow import MAX_GAP_US, NightWindow, Verdict, judge_night
from tenant_ledger.billing.resources import Resource
from tenant_ledger.db import leak_store
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.leak_store import LeakAlarm, LeakWatch
from tenant_ledger.errors import conflict, not_found
from tenant_ledger.operations.common import require

_LOGGER = logging.getLogger(__name__)

type LeakStates = dict[str, dict[str, Any] | None]
"""Per point, its published leak state (None: no longer watched, cleared)."""

LEAKING = frozenset({Resource.WATER, Resource.GAS})
"""What can leak: flow that never stops at night means a pipe; energy use at night does not."""

MAX_NIGHTS_PER_BATCH = 62
"""A backlog spanning more nights is judged for its newest ones only: older leaks are history
the landlord reads from the statements, not an alarm to act on tonight."""


def put_watch(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    point_id: str,
    window: NightWindow,
    minimum_per_hour: int,
    enabled: bool,
) -> LeakWatch:
    require("metering point", point_id, catalog.point_records)
    resource = catalog.resource_of(point_id)
    if resource not in LEAKING:
        raise conflict(f"a leak watch is for water and gas meters; {point_id} measures {resource}")
    watch = LeakWatch(
        point_id=point_id, window=window, minimum_per_hour=minimum_per_hour, enabled=enabled
    )
    leak_store.put_watch(connection, watch, action.now_us)
    audit(
        connection,
        action,
        "put_leak_watch",
        point_id,
        {
            "window_start": window.start.isoformat("minutes"),
            "window_end": window.end.isoformat("minutes"),
            "minimum_per_hour": minimum_per_hour,
            "enabled": enabled,
        },
    )
    return watch


def delete_watch(connection: sa.Connection, action: Action, *, point_id: str) -> None:
    """Stop watching the point; its alarms stay on record."""
    if not leak_store.delete_watch(connection, point_id):
        raise not_found("leak watch of point", point_id)
    audit(connection, action, "delete_leak_watch", point_id, {})


def acknowledge_alarm(connection: sa.Connection, action: Action, *, alarm_id: int) -> LeakAlarm:
    """The landlord has seen the alarm (idempotent: a second acknowledgement changes nothing)."""
    found = leak_store.alarm(connection, alarm_id)
    if found is None:
        raise not_found("leak alarm", str(alarm_id))
    if found.acknowledged_at_us is None:
        leak_store.acknowledge(connection, alarm_id, action.actor, action.now_us)
        audit(
            connection,
            action,
            "acknowledge_leak_alarm",
            found.point_id,
            {"alarm_id": alarm_id, "night": found.night.isoformat()},
        )
    acknowledged = leak_store.alarm(connection, alarm_id)
    assert acknowledged is not None
    return acknowledged


def detect_leaks(
    connection: sa.Connection, catalog: Catalog, spans: Mapping[str, tuple[int, int]], now_us: int
) -> list[LeakAlarm]:
    """Judge the nights that new readings of watched points touch; the alarms newly recorded.

    ``spans``: per point, the first and last instant of the readings just stored.
    """
    raised: list[LeakAlarm] = []
    for watch in leak_store.watches(connection, spans.keys()):
        if not watch.enabled:
            continue
        first_us, last_us = spans[watch.point_id]
        nights = list(watch.window.nights_touching(catalog.zone, first_us, last_us))
        for night in nights[-MAX_NIGHTS_PER_BATCH:]:
            start_us, end_us = watch.window.bounds_us(night, catalog.zone)
            reads = leak_store.register_reads(
                connection, watch.point_id, start_us - MAX_GAP_US, end_us + MAX_GAP_US
            )
            try:
                judgement = judge_night(
                    reads, watch.window, night, catalog.zone, watch.minimum_per_hour
                )
            except Exception:  # an alarm is advice; the readings come first
                # Judging runs inside the ingest transaction: a defect here must never turn
                # away the readings (the broker would redeliver them for ever).
                _LOGGER.exception("could not judge night %s of %s", night, watch.point_id)
                continue
            if judgement.verdict is not Verdict.CONTINUOUS:
                continue
            alarm = leak_store.record_alarm(
                connection, watch.point_id, judgement, watch.minimum_per_hour, now_us
            )
            if alarm is not None:
                raised.append(alarm)
    return raised


def alarm_payload(alarm: LeakAlarm) -> dict[str, Any]:
    """An alarm as the API and MQTT show it (instants as epoch seconds, night as a date)."""
    return {
        "id": alarm.id,
        "point": alarm.point_id,
        "night": alarm.night.isoformat(),
        "window_start": alarm.window_start_us // 1_000_000,
        "window_end": alarm.window_end_us // 1_000_000,
        "minimum_per_hour": alarm.minimum_per_hour,
        "lowest_per_hour": alarm.lowest_per_hour,
        "volume": alarm.volume,
        "detected_at": alarm.detected_at_us // 1_000_000,
        "acknowledged": alarm.acknowledged_at_us is not None,
        "acknowledged_at": None
        if alarm.acknowledged_at_us is None
        else alarm.acknowledged_at_us // 1_000_000,
        "acknowledged_by": alarm.acknowledged_by,
    }


def watch_payload(watch: LeakWatch) -> dict[str, Any]:
    return {
        "point": watch.point_id,
        "window_start": watch.window.start.isoformat("minutes"),
        "window_end": watch.window.end.isoformat("minutes"),
        "minimum_per_hour": watch.minimum_per_hour,
        "enabled": watch.enabled,
    }


def leak_state(connection: sa.Connection, point_id: str) -> dict[str, Any] | None:
    """The point's leak state as published (retained) for Home Assistant; None: not watched.

    ``active`` while any alarm of the point is unacknowledged; ``alarm`` is the newest
    unacknowledged one, else the newest one (or null: the point never raised one).
    """
    watch = leak_store.watch_of(connection, point_id)
    if watch is None:
        return None
    newest_open = leak_store.alarms(connection, point_id=point_id, open_only=True, limit=1)
    shown = newest_open[0] if newest_open else leak_store.latest_alarm(connection, point_id)
    return {
        "point": point_id,
        "active": bool(newest_open),
        "watch": watch_payload(watch),
        "alarm": None if shown is None else alarm_payload(shown),
    }


def leak_states(connection: sa.Connection, point_ids: Collection[str] | None = None) -> LeakStates:
    """``leak_state`` of ``point_ids`` (None: every watched point)."""
    if point_ids is None:
        point_ids = [watch.point_id for watch in leak_store.watches(connection)]
    return {point_id: leak_state(connection, point_id) for point_id in sorted(set(point_ids))}
