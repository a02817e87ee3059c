"""Run every benchmark, each in its own subprocess, and print one table of the figures.

A failing benchmark shows as FAILED in its row and does not hide the others. Our own
benches print a machine-readable ``BENCH_JSON {...}`` line (``--json``); the others' printed
tables are parsed as they are.

Usage: scripts/bench [--markdown] [--only e2e,footprint] [--timeout 300]
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass
import json
import os
from pathlib import Path
import re
import subprocess
import sys
import time

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

type Row = tuple[str, str, str]  # measure, value, note
_COLUMNS = re.compile(r"\s{2,}")


def _table_after_rule(output: str) -> list[list[str]]:
    """Rows of a printed table: the lines after its ``----`` rule, split on 2+ spaces."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    return [_COLUMNS.split(line.strip()) for line in lines[start:] if line.strip()]


def parse_rating(output: str) -> list[Row]:
    rows = []
    for line in output.splitlines():
        found = re.match(r"(.+?)\s{2,}([\d,]+)\s+([\d.]+)\s+([\d,]+)$", line.strip())
        if found and not line.startswith("Reading()"):
            name, count, seconds, rate = found.groups()
            rows.append((f"rating: {name}", f"{rate} readings/s", f"{count} readings, {seconds} s"))
    return rows


def parse_ledger(output: str) -> list[Row]:
    return [
        (f"ledger: {cells[0]}", cells[1], cells[2] if len(cells) > 2 else "")
        for cells in _table_after_rule(output)
    ]


def parse_integration(output: str) -> list[Row]:
    return [
        (f"HA: {cells[0]}", cells[1], "") for cells in _table_after_rule(output) if len(cells) > 1
    ]


def parse_modbus(output: str) -> list[Row]:
    rows = []
    ours = (
        r"(.+): (\d+) channels, (\d+) requests/poll \(mean ([\d.]+), max (\d+)\), "
        r"median ([\d.]+) ms/poll, p95 ([\d.]+) ms, failed requests (\d+)"
    )
    peer = r"peer: (.+): (\d+) channels, (\d+) requests/poll \(mean ([\d.]+), max (\d+); (.+)\)"
    for line in output.splitlines():
        if found := re.match(peer, line.strip()):
            name, channels, requests, mean, most, config = found.groups()
            rows.append(
                (
                    f"Modbus peer: {name}",
                    f"{requests} requests/poll",
                    f"{channels} channels, mean {mean}, max {most}; {config}",
                )
            )
        elif found := re.match(ours, line.strip()):
            name, channels, requests, mean, most, median, p95, failed = found.groups()
            rows.append(
                (
                    f"Modbus poll: {name}",
                    f"{median} ms (p95 {p95})",
                    f"{channels} channels, {requests} requests/poll (mean {mean}, max {most}), "
                    f"{failed} failed",
                )
            )
    return rows


def parse_json(output: str) -> list[Row]:
    rows: list[Row] = []
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line.removeprefix("BENCH_JSON "))
            rows.extend((row["measure"], row["value"], row["note"]) for row in data["rows"])
    return rows


@dataclass(frozen=True)
class Bench:
    name: str
    argv: list[str]
    parse: Callable[[str], list[Row]]
    pythonpath: str = ""


BENCHES = [
    Bench("rating", ["bench/bench_rating.py"], parse_rating, "addon"),
    Bench("ledger", ["bench/bench_ledger.py"], parse_ledger),
    Bench("e2e", ["bench/bench_e2e.py", "--json"], parse_json),
    Bench("integration", ["bench/bench_integration.py"], parse_integration),
    Bench("modbus", ["bench/bench_modbus.py"], parse_modbus, "."),
    Bench("footprint", ["bench/bench_footprint.py", "--json"], parse_json),
    Bench("peer", ["bench/bench_peer.py", "--json"], parse_json),
]


def run(bench: Bench, timeout: float) -> tuple[list[Row], float]:
    env = dict(os.environ)
    if bench.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (bench.pythonpath, env.get("PYTHONPATH", "")) if p
        )
    started = time.monotonic()
    try:
        done = subprocess.run(
            [PYTHON, *bench.argv],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [(bench.name, "FAILED", f"timed out after {timeout:g} s")], timeout
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [(bench.name, "FAILED", f"exit {done.returncode}: {tail[:80]}")], elapsed
    try:
        rows = bench.parse(done.stdout)
    except (StopIteration, ValueError, KeyError) as err:
        rows = []
        print(f"{bench.name}: could not parse its output ({err!r})", file=sys.stderr)
    return rows or [(bench.name, "FAILED", "printed no figures")], elapsed


def render(rows: list[Row], markdown: bool) -> str:
    if markdown:
        lines = ["| measure | result | notes |", "|---|---:|---|"]
        lines += [f"| {m} | {v} | {n} |" for m, v, n in rows]
        return "\n".join(lines)
    width = max(len(m) for m, _, _ in rows)
    value_width = max(len(v) for _, v, _ in rows)
    lines = [
        f"{'measure':<{width}}  {'result':>{value_width}}  notes",
        "-" * (width + value_width + 40),
    ]
    lines += [f"{m:<{width}}  {v:>{value_width}}  {n}" for m, v, n in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated bench names")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per bench")
    args = parser.parse_args()
    wanted = {name for name in args.only.split(",") if name}
    rows: list[Row] = []
    failed = False
    for bench in BENCHES:
        if wanted and bench.name not in wanted:
            continue
        print(f"running {bench.name} …", file=sys.stderr, flush=True)
        bench_rows, elapsed = run(bench, args.timeout)
        failed |= any(value == "FAILED" for _, value, _ in bench_rows)
        print(f"  {bench.name}: {elapsed:.0f} s", file=sys.stderr, flush=True)
        rows.extend(bench_rows)
    print(render(rows, args.markdown))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
