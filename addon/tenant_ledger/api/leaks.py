"""Leak watches per metering point and the night-flow alarms they raised."""

from datetime import time
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field, StringConstraints

from tenant_ledger.api.contract import Action, Limit, PointId, Query
from tenant_ledger.api.models import Reply
from tenant_ledger.api.registry import Call, json_response, route
from tenant_ledger.billing.night_flow import NightWindow
from tenant_ledger.db import leak_store
from tenant_ledger.errors import invalid, not_found
from tenant_ledger.operations import leaks as ops

MAX_MINIMUM_PER_HOUR = 10**9
"""Far above any pipe (a fire main carries some 100 000 L/h)."""

WallTime = Annotated[
    str,
    StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"),
    Field(description="local wall time HH:MM (the ledger's time zone)", examples=["23:00"]),
]


class WatchBody(Action):
    window_start: WallTime
    window_end: Annotated[
        WallTime, Field(description="HH:MM; at or before window_start: the next morning")
    ]
    minimum_per_hour: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_MINIMUM_PER_HOUR,
            description="base units of the point's register per hour (L/h for water)",
        ),
    ]
    enabled: bool = True


class Watch(Reply):
    point: str
    window_start: str
    window_end: str
    minimum_per_hour: int
    enabled: bool


class Alarm(Reply):
    id: int
    point: str
    night: str = Field(description="the local date the night's window starts on")
    window_start: int = Field(description="epoch seconds")
    window_end: int = Field(description="epoch seconds")
    minimum_per_hour: int
    lowest_per_hour: int = Field(description="the lowest rate seen through the window")
    volume: int = Field(description="base units counted inside the window")
    detected_at: int = Field(description="epoch seconds")
    acknowledged: bool
    acknowledged_at: int | None
    acknowledged_by: str | None


class Alarms(Reply):
    alarms: list[Alarm]


class AlarmsQuery(Query):
    point: PointId | None = None
    status: Literal["open", "all"] | None = None
    limit: Limit | None = None


def _window(body: WatchBody) -> NightWindow:
    start, end = time.fromisoformat(body.window_start), time.fromisoformat(body.window_end)
    if start == end:
        raise invalid("window_start and window_end must differ")
    return NightWindow(start=start, end=end)


def _require_point(call: Call) -> str:
    point_id = call.param("point_id")
    if point_id not in call.service.catalog.point_records:
        raise not_found("metering point", point_id)
    return point_id


@route(
    "PUT",
    "/api/points/{point_id}/leak-watch",
    role="admin",
    summary="Watch a point for flow that never stops through the night (a leak)",
    tag="leaks",
    body=WatchBody,
    response=Watch,
)
async def put_watch(call: Call) -> web.Response:
    action, body, point_id = call.action, call.body, _require_point(call)
    watch = await call.service.put_leak_watch(
        action, point_id, _window(body), body.minimum_per_hour, enabled=body.enabled
    )
    return json_response(watch)


@route(
    "GET",
    "/api/points/{point_id}/leak-watch",
    role="read_only",
    summary="A point's leak watch",
    tag="leaks",
    response=Watch,
)
async def get_watch(call: Call) -> web.Response:
    point_id = _require_point(call)
    watch = await call.service.read(lambda c, _: leak_store.watch_of(c, point_id))
    if watch is None:
        raise not_found("leak watch of point", point_id)
    return json_response(ops.watch_payload(watch))


@route(
    "DELETE",
    "/api/points/{point_id}/leak-watch",
    role="admin",
    summary="Stop watching a point (its alarms stay on record; 204)",
    tag="leaks",
    status=204,
    body=Action,
    response=None,
)
async def delete_watch(call: Call) -> web.Response:
    action, point_id = call.action, _require_point(call)
    await call.service.delete_leak_watch(action, point_id)
    return web.Response(status=204)


@route(
    "GET",
    "/api/leak-alarms",
    role="read_only",
    summary="Leak alarms, newest night first",
    tag="leaks",
    query=AlarmsQuery,
    response=Alarms,
)
async def list_alarms(call: Call) -> web.Response:
    query = call.query
    found = await call.service.read(
        lambda c, _: leak_store.alarms(
            c, point_id=query.point, open_only=query.status == "open", limit=call.limit(100)
        )
    )
    return json_response({"alarms": [ops.alarm_payload(alarm) for alarm in found]})


@route(
    "POST",
    "/api/leak-alarms/{alarm_id}/acknowledge",
    role="admin",
    summary="The landlord has seen the alarm (idempotent)",
    tag="leaks",
    body=Action,
    response=Alarm,
)
async def acknowledge_alarm(call: Call) -> web.Response:
    action, alarm_id = call.action, int(call.param("alarm_id"))
    return json_response(await call.service.acknowledge_leak_alarm(action, alarm_id))
