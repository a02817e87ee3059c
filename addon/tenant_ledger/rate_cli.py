"""``python -m tenant_ledger rate``: rate a CSV of register readings against a tariff, offline.

``--resource`` (electricity unless given) says what the readings measure: ``water`` or ``gas``
read ``volume_l`` (L, priced per m³), ``heat`` and electricity ``energy_wh`` (Wh, per kWh). Run
once per resource with that resource's tariff and meters, it reproduces a statement's section.

Prints the energy per band, standing charge, net, tax and total as JSON. Bad input is reported
on one line naming the file, line and field, with exit status 2.
"""

import argparse
import csv
from datetime import datetime
import json
from pathlib import Path
import re
import sys

from tenant_ledger.billing import (
    EnergyLine,
    Reading,
    StandingLine,
    Tariff,
    TariffError,
    TariffSchedule,
    consumption,
    decode_json,
    format_kwh,
    format_minor,
    parse_tariff,
    price,
    rate,
)
from tenant_ledger.billing.resources import Resource, Unit, base_unit, readings_key

_BAND_KEYS = {Unit.WH: "energy_kwh", Unit.L: "volume_m3"}
"""The usage of a band in the billing unit (kWh or m³), as the report names it."""
_WHOLE_NUMBER = re.compile(r"[0-9]+")


class InputError(Exception):
    """Bad input, already phrased as ``file line N, field F: problem``."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tariff", required=True, type=Path, metavar="TARIFF.json")
    parser.add_argument("--readings", required=True, type=Path, metavar="READINGS.csv")
    parser.add_argument("--from", dest="start", required=True, type=_instant, metavar="ISO8601")
    parser.add_argument("--to", dest="end", required=True, type=_instant, metavar="ISO8601")
    parser.add_argument(
        "--resource", type=Resource, choices=list(Resource), default=Resource.ELECTRICITY
    )


def run(args: argparse.Namespace) -> int:
    try:
        if args.end <= args.start:
            raise InputError("--to must be after --from")
        tariff = _load_tariff(args.tariff)
        readings = _load_readings(args.readings, base_unit(args.resource))
    except InputError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    points = consumption(readings)
    for point in points.values():
        for event in point.events:
            sys.stderr.write(
                f"warning: {args.readings}: point {point.point_id} at {event.ts.isoformat()}: "
                f"{event.kind} ({event.previous_wh} -> {event.value_wh} "
                f"{base_unit(args.resource)})\n"
            )
    rating = rate(
        (interval for point in points.values() for interval in point.intervals),
        TariffSchedule.single(tariff),
        start=args.start,
        end=args.end,
    )
    charges = price([*rating.energy_lines, *rating.standing_lines], tariff.currency)
    bands: dict[str, dict[str, int]] = {}
    standing = 0
    for item in charges.lines:
        if isinstance(item.line, EnergyLine):
            band = bands.setdefault(item.line.band, {"energy_wh": 0, "amount": 0})
            band["energy_wh"] += item.line.energy_wh
            band["amount"] += item.amount.minor
        elif isinstance(item.line, StandingLine):
            standing += item.amount.minor
    unit = base_unit(args.resource)
    usage_key, band_key = readings_key(unit), _BAND_KEYS[unit]
    report = {
        "currency": tariff.currency,
        # Electricity's report keeps the shape it had before there were other resources.
        **({} if args.resource is Resource.ELECTRICITY else {"resource": args.resource.value}),
        usage_key: rating.energy_wh,
        "bands": {
            name: {
                band_key: format_kwh(band["energy_wh"]),
                "amount": format_minor(band["amount"], tariff.currency),
            }
            for name, band in bands.items()
        },
        "standing": format_minor(standing, tariff.currency),
        "net": str(charges.net),
        "tax": str(charges.tax),
        "total": str(charges.total),
    }
    sys.stdout.write(json.dumps(report, separators=(",", ":")) + "\n")
    return 0


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 timestamp with offset: {text!r}")
    return value


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read: {err}") from None


def _load_tariff(path: Path) -> Tariff:
    try:
        return parse_tariff(decode_json(_read(path)))
    except json.JSONDecodeError as err:
        raise InputError(f"{path} line {err.lineno}: invalid JSON: {err.msg}") from None
    except TariffError as err:
        where = f", field {err.path}" if err.path else ""
        raise InputError(f"{path}{where}: {err.message}") from None


def _load_readings(path: Path, unit: Unit) -> list[Reading]:
    """The CSV's readings; its register column is the unit's readings key (energy_wh or
    volume_l), whole base units."""
    rows = csv.reader(_read(path).splitlines())
    readings = []
    expected = ["point_id", "ts", readings_key(unit)]
    header = next(rows, None)
    if header is None or [name.strip() for name in header] != expected:
        raise InputError(f"{path} line 1: expected the header {','.join(expected)}")
    for row in rows:
        line = f"{path} line {rows.line_num}"
        if not row:
            continue
        if len(row) != len(expected):
            raise InputError(f"{line}: expected {len(expected)} fields, got {len(row)}")
        point_id, ts_text, energy_text = (value.strip() for value in row)
        if not point_id:
            raise InputError(f"{line}, field point_id: empty")
        try:
            ts = datetime.fromisoformat(ts_text)
        except ValueError:
            ts = None
        if ts is None or ts.utcoffset() is None:
            raise InputError(
                f"{line}, field ts: not an ISO-8601 timestamp with offset: {ts_text!r}"
            )
        if not _WHOLE_NUMBER.fullmatch(energy_text):
            problem = "must not be negative" if energy_text.startswith("-") else "not an integer"
            raise InputError(f"{line}, field {expected[2]}: {problem}: {energy_text!r}")
        readings.append(Reading(point_id=point_id, ts=ts, energy_wh=int(energy_text)))
    return readings
