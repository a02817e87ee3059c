"""``python -m tenant_ledger rate`` end to end, in a subprocess like a landlord would run it."""

import json
from pathlib import Path
import subprocess
import sys

import pytest

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


def run_rate(tmp_path, tariff=TOU_TARIFF, readings=READINGS, start=FROM, end=TO):
    (tmp_path / "tariff.json").write_text(tariff)
    (tmp_path / "readings.csv").write_text(readings)
    return subprocess.run(
        [sys.executable, "-m", "tenant_ledger", "rate", "--tariff", "tariff.json",
         "--readings", "readings.csv", "--from", start, "--to", end],
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
