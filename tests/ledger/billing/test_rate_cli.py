"""``python -m tenant_ledger rate`` end to end, in a subprocess like a landlord would run it."""

import json
from pathlib import Path
import subprocess
import sys

from hypothesis import given, settings, strategies as st
import pytest

from tenant_ledger import rate_cli
from tenant_ledger.billing.resources import Unit

ADDON = Path(__file__).resolve().parents[3] / "addon"

TOU_TARIFF = """{
  "currency": "EUR",
  "timezone": "Europe/Berlin",
  "energy": {
    "type": "tou",
    "bands": {"peak": "0.35", "offpeak": 0.15},
    "schedule": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "to": "23:00",
                  "band": "peak"}],
    "default_band": "offpeak",
    "holidays": {"country": "DE", "treat_as": "sun"}
  },
  "standing_charge_per_day": "0.50",
  "tax_rate": "0.19"
}
"""
READINGS = """point_id,ts,energy_wh
r1,2026-01-01T00:00:00+01:00,1000
r1,2026-01-02T00:00:00+01:00,11000
r1,2026-01-03T00:00:00+01:00,23000
r2,2026-01-01T12:00:00+01:00,500
r2,2026-01-02T12:00:00+01:00,900
"""
FROM, TO = "2026-01-01T00:00:00+01:00", "2026-01-03T00:00:00+01:00"


def run_rate(tmp_path, tariff=TOU_TARIFF, readings=READINGS, start=FROM, end=TO, more=()):
    (tmp_path / "tariff.json").write_text(tariff)
    (tmp_path / "readings.csv").write_text(readings)
    return subprocess.run(
        [sys.executable, "-m", "tenant_ledger", "rate", "--tariff", "tariff.json",
         "--readings", "readings.csv", "--from", start, "--to", end, *more],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ADDON), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )  # fmt: skip


def test_tou_tariff_with_a_holiday_end_to_end(tmp_path):
    # 1 January 2026 is a public holiday in Germany (Sunday bands: all offpeak); the 2nd is
    # a Friday (peak 07:00-23:00).
    # r1: 10,000 Wh on the 1st, all offpeak; 12,000 Wh on the 2nd: 16/24 peak = 8,000,
    #     8/24 offpeak = 4,000.
    # r2: 400 Wh from the 1st 12:00 to the 2nd 12:00. Cumulative at 00:00 = 200, at 07:00 =
    #     round(400 x 19/24 = 316.67) = 317: offpeak 200 + 117, peak 83.
    # Offpeak 14,317 Wh x 0.15 = 2.14755 -> 2.15; peak 8,083 Wh x 0.35 = 2.82905 -> 2.83;
    # standing 2 days x 0.50 = 1.00; net 5.98; tax 19 % = 1.1362 -> 1.14; total 7.12.
    result = run_rate(tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "currency": "EUR",
        "energy_wh": 22_400,
        "bands": {
            "offpeak": {"energy_kwh": "14.317", "amount": "2.15"},
            "peak": {"energy_kwh": "8.083", "amount": "2.83"},
        },
        "standing": "1.00",
        "net": "5.98",
        "tax": "1.14",
        "total": "7.12",
    }


def test_readings_outside_the_period_are_apportioned_by_time(tmp_path):
    # Tiered: first 10 kWh at 0.20, then 0.30. Period: the 2nd 00:00 to the 4th 00:00 (UTC).
    # 24,000 Wh from the 1st 12:00 to the 3rd 12:00 (48 h), 36 h inside: 18,000 Wh; then
    # 4,800 Wh from the 3rd 12:00 to the 5th 12:00 (48 h), 12 h inside: 1,200 Wh.
    # 19,200 Wh: tier1 10,000 x 0.20 = 2.00, tier2 9,200 x 0.30 = 2.76; net 4.76; no tax.
    tariff = json.dumps(
        {
            "currency": "EUR",
            "timezone": "UTC",
            "energy": {
                "type": "tiered",
                "tiers": [{"up_to_kwh": "10", "rate": "0.20"}, {"rate": "0.30"}],
            },
        }
    )
    readings = (
        "point_id,ts,energy_wh\n"
        "m,2026-01-01T12:00:00Z,100000\n"
        "m,2026-01-03T12:00:00Z,124000\n"
        "m,2026-01-05T12:00:00Z,128800\n"
    )
    result = run_rate(tmp_path, tariff, readings, "2026-01-02T00:00:00Z", "2026-01-04T00:00:00Z")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "currency": "EUR",
        "energy_wh": 19_200,
        "bands": {
            "tier1": {"energy_kwh": "10.000", "amount": "2.00"},
            "tier2": {"energy_kwh": "9.200", "amount": "2.76"},
        },
        "standing": "0.00",
        "net": "4.76",
        "tax": "0.00",
        "total": "4.76",
    }


WATER_TARIFF = """{"currency": "EUR", "timezone": "Europe/Berlin",
  "energy": {"type": "flat", "rate": "4.20"}, "standing_charge_per_day": "0.10",
  "tax_rate": "0.07"}"""
WATER_READINGS = """point_id,ts,volume_l
cold,2026-11-01T00:00:00+01:00,1000
cold,2026-11-16T00:00:00+01:00,3250
cold,2026-12-01T00:00:00+01:00,5500
"""
NOVEMBER = ("2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00")


def test_a_water_meter_is_rated_per_m3_like_its_statement_section(tmp_path):
    """The water section of tests/ledger/test_statement_resources.py: 4.5 m³ at 4.20 and
    30 days at 0.10 is a subtotal of 21.90 (tax 7 % of it on its own: 1.53)."""
    result = run_rate(
        tmp_path, WATER_TARIFF, WATER_READINGS, *NOVEMBER, more=("--resource", "water")
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "currency": "EUR",
        "resource": "water",
        "volume_l": 4500,
        "bands": {"energy": {"volume_m3": "4.500", "amount": "18.90"}},
        "standing": "3.00",
        "net": "21.90",
        "tax": "1.53",
        "total": "23.43",
    }


def test_readings_in_another_unit_than_the_resource_are_refused(tmp_path):
    result = run_rate(tmp_path, WATER_TARIFF, WATER_READINGS, *NOVEMBER)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: readings.csv line 1: expected the header point_id,ts,energy_wh\n",
    )
    bad = WATER_READINGS.replace("3250", "3250.5")
    result = run_rate(tmp_path, WATER_TARIFF, bad, *NOVEMBER, more=("--resource", "gas"))
    assert result.stderr == "error: readings.csv line 3, field volume_l: not an integer: '3250.5'\n"
    result = run_rate(tmp_path, WATER_TARIFF, WATER_READINGS, *NOVEMBER, more=("--resource", "x"))
    assert result.returncode == 2
    assert "argument --resource: invalid Resource value: 'x'" in result.stderr


def test_register_reset_is_warned_about(tmp_path):
    readings = READINGS + "r1,2026-01-02T12:00:00+01:00,50\n"
    result = run_rate(tmp_path, readings=readings)
    assert result.returncode == 0
    assert result.stderr == (
        "warning: readings.csv: point r1 at 2026-01-02T12:00:00+01:00: register_reset "
        "(11000 -> 50 Wh)\n"
    )


@pytest.mark.parametrize(
    ("tariff", "readings", "message"),
    [
        (TOU_TARIFF, READINGS.replace("23000", "12.5"),
         "error: readings.csv line 4, field energy_wh: not an integer: '12.5'"),
        (TOU_TARIFF, READINGS.replace("11000", "-3"),
         "error: readings.csv line 3, field energy_wh: must not be negative: '-3'"),
        (TOU_TARIFF, READINGS.replace("2026-01-02T12:00:00+01:00", "2026-01-02T12:00:00"),
         "error: readings.csv line 6, field ts: not an ISO-8601 timestamp with offset: "
         "'2026-01-02T12:00:00'"),
        (TOU_TARIFF, READINGS.replace("point_id,", "point,"),
         "error: readings.csv line 1: expected the header point_id,ts,energy_wh"),
        (TOU_TARIFF, READINGS + "r3,2026-01-02T12:00:00+01:00\n",
         "error: readings.csv line 7: expected 3 fields, got 2"),
        (TOU_TARIFF.replace('"0.35"', '"cheap"'), READINGS,
         "error: tariff.json, field energy.bands.peak: not a decimal number: 'cheap'"),
        (TOU_TARIFF.replace('"band": "peak"', '"band": "day"'), READINGS,
         "error: tariff.json, field energy.schedule[0].band: unknown band 'day' "
         "(not in energy.bands)"),
        (TOU_TARIFF.replace('"tax_rate"', '"tax_rate" 1,'), READINGS,
         "error: tariff.json line 13: invalid JSON: Expecting ':' delimiter"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_on_stderr_with_status_2(tmp_path, tariff, readings, message):
    result = run_rate(tmp_path, tariff, readings)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message + "\n")


def test_naive_period_bounds_are_refused_with_status_2(tmp_path):
    result = run_rate(tmp_path, start="2026-01-01T00:00:00")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "python -m tenant_ledger rate: error: argument --from: "
        "not an ISO-8601 timestamp with offset: '2026-01-01T00:00:00'"
    )


@settings(max_examples=200, deadline=None)
@given(
    unit=st.sampled_from(list(Unit)),
    text=st.one_of(
        st.text(),
        st.lists(st.lists(st.text(max_size=30), max_size=4), max_size=6).map(
            lambda rows: "\n".join(",".join(row) for row in [["point_id", "ts", "volume_l"], *rows])
        ),
    ),
)
def test_any_readings_file_is_read_or_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, unit: Unit, text: str
) -> None:
    """Garbage of any shape in either unit's CSV: readings or an InputError, nothing else."""
    path = tmp_path_factory.mktemp("csv") / "readings.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    problem, readings = "", []
    try:
        readings = rate_cli._load_readings(path, unit)
    except rate_cli.InputError as err:
        problem = str(err)
    if problem:
        assert "\n" not in problem
        assert problem.startswith(str(path))
    assert all(reading.energy_wh >= 0 for reading in readings)
