"""Register readings: posted like the MQTT readings topic, listed, turned away, quarantined."""

from typing import Annotated, Any, Final, Literal

from aiohttp import web
from pydantic import Field, ValidationError, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from tenant_ledger.api.contract import (
    MAX_QUERY_INT,
    Body,
    Limit,
    PointId,
    Query,
    QueryInt,
    Reasoned,
)
from tenant_ledger.api.models import Reply
from tenant_ledger.api.registry import Call, capped, json_response, route
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import listings
from tenant_ledger.errors import LedgerError
from tenant_ledger.readings_in import MAX_VALUE, PayloadError, parse_readings

MAX_READINGS = 100_000


# Exactly one register per reading, and litres only in version 2.
_ONE_REGISTER: Final = {
    "oneOf": [
        {"required": [key], "not": {"required": [other]}}
        for key, other in (("energy_wh", "volume_l"), ("volume_l", "energy_wh"))
    ]
}
_LITRES_FROM_VERSION_2: Final = {
    "if": {"properties": {"v": {"const": 2}}, "required": ["v"]},
    "else": {"properties": {"readings": {"items": {"not": {"required": ["volume_l"]}}}}},
}


def _absent_by_default(schema: dict[str, Any]) -> None:
    """The document names no default (null is no value the field takes): absent is absent."""
    schema.pop("default", None)


class ReadingIn(Body, json_schema_extra=_ONE_REGISTER):
    point: PointId
    ts: Annotated[int, Field(ge=1, le=MAX_VALUE["ts"], description="epoch seconds")]
    # Absent, never null: ``Readings`` lets the MQTT topic's parser refuse a null first.
    energy_wh: (
        Annotated[int, Field(ge=0, le=MAX_VALUE["energy_wh"], description="Wh")]
        | SkipJsonSchema[None]
    ) = Field(default=None, json_schema_extra=_absent_by_default)
    volume_l: (
        Annotated[int, Field(ge=0, le=MAX_VALUE["volume_l"], description="litres (version 2)")]
        | SkipJsonSchema[None]
    ) = Field(default=None, json_schema_extra=_absent_by_default)
    seq: Annotated[int, Field(ge=0, le=MAX_VALUE["seq"])] | None = None


class Readings(Body, json_schema_extra={"allOf": [_LITRES_FROM_VERSION_2]}):
    """The MQTT readings payload; implausible readings are quarantined, not refused.

    Each reading has exactly one register, ``energy_wh`` or (with ``"v": 2``) ``volume_l``.
    """

    v: (
        Annotated[Literal[1, 2], Field(description="contract version; absent is 1")]
        | SkipJsonSchema[None]
    ) = Field(default=None, json_schema_extra=_absent_by_default)
    readings: Annotated[list[ReadingIn], Field(max_length=MAX_READINGS)]

    @model_validator(mode="before")
    @classmethod
    def _as_the_mqtt_topic_reads_it(cls, document: Any) -> Any:
        """The topic's own parser first, so both refuse the same documents with the same code
        (pydantic alone would take ``"v": true`` as 1, ``2.0`` as 2 and a null as absent)."""
        try:
            parse_readings(document)
        except PayloadError as err:
            raise PydanticCustomError(err.kind, "{message}", {"message": str(err)}) from None
        return document

    @classmethod
    def refused(cls, error: ValidationError) -> LedgerError:
        """The MQTT payload's error codes (``invalid_ts``, ``not_readings``, …) for the API too."""
        first = error.errors(include_url=False)[0]
        if not first["loc"] and "message" in first.get("ctx", {}):
            return LedgerError(400, first["type"], first["ctx"]["message"])
        refusal = super().refused(error)
        match first["loc"]:
            case ("readings", int(), str(field), *_):
                code = f"invalid_{field}"
            case ("readings", int()):
                code = "invalid_reading"
            case ("v", *_):
                code = "unsupported_version"
            case _:
                code = "not_readings"
        return LedgerError(400, code, refusal.message)


class Ingested(Reply):
    stored: int
    duplicates: int
    conflicts: int
    quarantined: int


class ReadingsQuery(Query):
    point: PointId
    since: Annotated[QueryInt, Field(description="epoch seconds")] | None = None
    until: Annotated[QueryInt, Field(description="epoch seconds")] | None = None
    limit: Limit | None = None


class StoredReading(Reply):
    ts: int
    energy_wh: int
    seq: int | None


class StoredReadings(Reply):
    point: str
    readings: list[StoredReading]


class PointQuery(Query):
    point: PointId | None = None
    limit: Limit | None = None


class Conflict(Reply):
    point: str
    ts: int
    energy_wh: int
    kept_energy_wh: int
    received_at: str


class Conflicts(Reply):
    conflicts: list[Conflict]


class QuarantineItem(Reply):
    id: int
    point: str
    ts: int
    energy_wh: int = Field(description="the register, in unit (named energy_wh since version 1)")
    unit: Literal["Wh", "L"]
    seq: int | None
    reason: str
    detail: str
    received_at: str
    released_at: str | None
    released_by: str | None
    release_reason: str | None


class Quarantine(Reply):
    quarantined: list[QuarantineItem]


class LimitQuery(Query):
    limit: Limit | None = None


class ParkedMessage(Reply):
    id: int
    sha256: str
    size_bytes: int
    reason: str
    detail: str
    excerpt: str
    times: int
    first_received_at: str
    last_received_at: str


class Parked(Reply):
    parked: list[ParkedMessage]


class Released(QuarantineItem):
    stored: int
    conflicts: int


@route(
    "POST",
    "/api/readings",
    role="operator",
    summary="Store and rate register readings (same body as the MQTT readings topic)",
    tag="readings",
    body=Readings,
    response=Ingested,
)
async def post_readings(call: Call) -> web.Response:
    try:
        batch = parse_readings(call.body.model_dump(exclude_none=True))
    except PayloadError as err:
        raise LedgerError(400, err.kind, str(err)) from None
    result = await call.service.ingest(batch)
    return json_response(
        {
            "stored": result.stored,
            "duplicates": result.duplicates,
            "conflicts": result.conflicts,
            "quarantined": len(result.quarantined),
        }
    )


@route(
    "GET",
    "/api/readings",
    role="read_only",
    summary="Stored readings of a point (?point=&since=&until= epoch seconds, &limit=)",
    tag="readings",
    query=ReadingsQuery,
    response=StoredReadings,
)
async def get_readings(call: Call) -> web.Response:
    query: ReadingsQuery = call.query
    since, until = capped(query.since, 0), capped(query.until, MAX_QUERY_INT)
    limit = call.limit(1000)
    found = await call.service.read(
        lambda c, _cat: listings.reading_rows(c, query.point, since, until, limit)
    )
    return json_response({"point": query.point, "readings": found})


@route(
    "GET",
    "/api/readings/conflicts",
    role="read_only",
    summary=(
        "Readings turned away because another register was stored first for that point and "
        "second, newest first (?point=&limit=)"
    ),
    tag="readings",
    query=PointQuery,
    response=Conflicts,
)
async def get_reading_conflicts(call: Call) -> web.Response:
    point, limit = call.query.point, call.limit(1000)
    found = await call.service.read(lambda c, _cat: listings.conflict_rows(c, point, limit))
    return json_response(
        {
            "conflicts": [
                {
                    "point": row["point_id"],
                    "ts": row["ts"],
                    "energy_wh": row["energy_wh"],
                    "kept_energy_wh": row["kept_energy_wh"],
                    "received_at": from_us(row["received_at_us"]).isoformat(),
                }
                for row in found
            ]
        }
    )


@route(
    "GET",
    "/api/readings/quarantine",
    role="read_only",
    summary=(
        "Implausible readings held back from billing (stamped in the future or before 2000, or "
        "a register rising faster than the point's max_power_w), newest first (?point=&limit=)"
    ),
    tag="readings",
    query=PointQuery,
    response=Quarantine,
)
async def get_quarantine(call: Call) -> web.Response:
    point, limit = call.query.point, call.limit(1000)
    found = await call.service.read(lambda c, _cat: listings.quarantined(c, point, limit))
    return json_response({"quarantined": found})


@route(
    "POST",
    "/api/readings/quarantine/{quarantine_id}/release",
    role="admin",
    summary=(
        "Vouch for a quarantined reading: it is stored and rated like any other reading "
        "(409 if already released)"
    ),
    tag="readings",
    body=Reasoned,
    response=Released,
)
async def release_quarantined(call: Call) -> web.Response:
    identifier = int(call.param("quarantine_id"))
    result = await call.service.release_reading(call.action, identifier)
    row = await call.service.read(lambda c, _cat: listings.quarantined_one(c, identifier))
    return json_response(row | {"stored": result.stored, "conflicts": result.conflicts})


@route(
    "GET",
    "/api/readings/parked",
    role="read_only",
    summary=(
        "Readings messages that carried no storable reading (not JSON, too large, a bad "
        "field), acknowledged and set aside, newest first (?limit=)"
    ),
    tag="readings",
    query=LimitQuery,
    response=Parked,
)
async def get_parked(call: Call) -> web.Response:
    limit = call.limit(1000)
    found = await call.service.read(lambda c, _cat: listings.parked(c, limit))
    return json_response({"parked": found})
